package fakeazure

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

type generatedCA struct {
	cert *x509.Certificate
	pem  []byte
	leaf tls.Certificate
}

// newCA makes an ECDSA P-256 CA and a server certificate it signs for
// 127.0.0.1, ::1, localhost and extra.
func newCA(extra net.IP) (*generatedCA, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "fakeazure test CA " + randomHex(4), Organization: []string{"fakeazure"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if extra != nil && !extra.Equal(ips[0]) && !extra.Equal(ips[1]) {
		ips = append(ips, extra)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"fakeazure"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(29 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  ips,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	return &generatedCA{
		cert: caCert,
		pem:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		leaf: tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey},
	}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

// ClientCertificate is a self-signed RSA certificate for a service
// principal, as NewClientCertificate wrote it.
type ClientCertificate struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
	// PEMFile holds the certificate and its PKCS#8 private key
	// ("CERTIFICATE" then "PRIVATE KEY" blocks), unencrypted.
	PEMFile string
	// PFXFile holds the same certificate and key as PKCS#12, encrypted with
	// Password (3DES and SHA-1 MAC: the legacy form that azidentity's
	// ParseCertificates, through golang.org/x/crypto/pkcs12, can read).
	PFXFile string
	// Password protects PFXFile.
	Password string
}

// NewClientCertificate generates a self-signed RSA-2048 certificate with
// the common name name, valid from an hour ago for validity (a year if
// zero; negative makes an already expired certificate), and writes it to
// dir as name.pem and name.pfx (see ClientCertificate). Register it with
// AddCertificate.
func NewClientCertificate(dir, name, password string, validity time.Duration) (*ClientCertificate, error) {
	if validity == 0 {
		validity = 365 * 24 * time.Hour
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	now := time.Now()
	notBefore := now.Add(-time.Hour)
	notAfter := now.Add(validity)
	if validity < 0 {
		notBefore = notAfter.Add(-24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)
	pfx, err := pkcs12.LegacyDES.Encode(key, cert, nil, password)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: pkcs12: %v", err)
	}
	cc := &ClientCertificate{
		Cert:     cert,
		Key:      key,
		PEMFile:  filepath.Join(dir, name+".pem"),
		PFXFile:  filepath.Join(dir, name+".pfx"),
		Password: password,
	}
	if err := os.WriteFile(cc.PEMFile, pemData, 0o600); err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	if err := os.WriteFile(cc.PFXFile, pfx, 0o600); err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	return cc, nil
}
