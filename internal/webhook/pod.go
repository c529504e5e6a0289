package webhook

// pod holds the fields of a core/v1 Pod the webhook reads. Everything else
// in the object is left alone: the answer is a JSONPatch of these fields.
type pod struct {
	Metadata struct {
		Name         string            `json:"name,omitempty"`
		GenerateName string            `json:"generateName,omitempty"`
		Namespace    string            `json:"namespace,omitempty"`
		Annotations  map[string]string `json:"annotations,omitempty"`
	} `json:"metadata"`
	Spec podSpec `json:"spec"`
}

type podSpec struct {
	Volumes          []named           `json:"volumes,omitempty"`
	InitContainers   []container       `json:"initContainers,omitempty"`
	Containers       []container       `json:"containers,omitempty"`
	ImagePullSecrets []named           `json:"imagePullSecrets,omitempty"`
	NodeSelector     map[string]string `json:"nodeSelector,omitempty"`
}

// container holds what the mutation reads of a container.
type container struct {
	Name         string        `json:"name"`
	Image        string        `json:"image,omitempty"`
	Command      []string      `json:"command,omitempty"`
	Args         []string      `json:"args,omitempty"`
	VolumeMounts []volumeMount `json:"volumeMounts,omitempty"`
}

type named struct {
	Name string `json:"name"`
}

type volumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// displayName is the pod's name for a log line: the API server has not
// yet given a generated name on CREATE, so the prefix stands in for it.
func (p *pod) displayName() string {
	if p.Metadata.Name != "" {
		return p.Metadata.Name
	}
	if p.Metadata.GenerateName != "" {
		return p.Metadata.GenerateName + "*"
	}
	return "(unnamed)"
}
