// Package httpapi will hold the REST API served by `rosetta serve`. It is
// empty until the durable-store and REST API issue lands.
package httpapi
