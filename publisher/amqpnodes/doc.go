// Package amqpnodes reads a list of RabbitMQ node URLs and dials its nodes in turn.
//
// A list is one or more amqp:// or amqps:// URLs separated by commas, each a node of the same
// cluster, with the same virtual host: "amqp://u:p@rabbit-1:5672/shop,amqp://u:p@rabbit-2:5672/shop".
// A single URL is a list of one. A comma inside a password must be percent-encoded (%2C).
//
// A Dialer connects to the first node of the list that answers. When that connection dies,
// the next dial starts with the node after it, round robin, so that a client whose node went
// away moves on to another instead of waiting for it to come back. Every client of a program
// (a consumer, a publisher) has a Dialer of its own.
//
// Node.Addr (host:port) names a node in logs, metrics and errors; the URLs, which may carry a
// password, never leave this package but to be dialled.
package amqpnodes
