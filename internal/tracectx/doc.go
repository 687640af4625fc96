// Package tracectx propagates trace context between owl services and writes
// their access logs: the platform half of always-on request tracing.
//
// Every request carries two headers that name the same 128-bit trace id:
// AWS's X-Amzn-Trace-Id (Root, Parent, Self, Sampled, Lineage and owl's
// Caller field) and W3C Trace Context (traceparent, tracestate, and
// traceresponse on the way back). Tracer.Handler continues or starts the
// trace of each incoming request and writes one access-log Record per
// request; Tracer.Transport does the same for outgoing calls and names this
// service as their Caller. The tracing system stitches these records, with
// load balancer logs, into call trees.
//
// Values that may identify a person (query strings, user agents, user ids)
// and request fingerprints are logged only as keyed hashes: SipHash-2-4, a
// pseudorandom function, keyed with 128 bits derived by HKDF-SHA256 from
// the deployment's hash key (see Hasher). Without the key, a log reader
// cannot confirm a guessed value; with it, equal values still match across
// services.
package tracectx
