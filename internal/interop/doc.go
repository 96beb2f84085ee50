// Package interop proves, against a real RabbitMQ and the real Python client, that the Go side
// and the Python services (Kombu) agree on the wire: exchange flags, properties, headers and
// bodies, in both directions and whichever side declares the exchange first. It has tests only;
// the Python halves are the scripts in testdata, run with Debian's python3-kombu
// (testenv.KombuPython).
package interop
