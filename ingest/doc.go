// Package ingest will hold the bulk folder ingest pipeline behind `rosetta
// ingest`. It is empty until the ingest issue lands.
package ingest
