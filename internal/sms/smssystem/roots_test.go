package smssystem

import "crypto/x509"

type x509CertPool = x509.CertPool

func poolOf(pem []byte) *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(pem)
	return p
}
