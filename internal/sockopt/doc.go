// Package sockopt holds the socket options that the protocol packages
// share, so that they need not import each other.
package sockopt
