// Package sms is the streak SMS batch: which users get a streak reminder on a
// given night, the state machine that sends each reminder exactly once
// through a provider, and the per-batch report.
//
// The package holds the domain types and rules only. Phone number encryption
// (phonecrypt), the database (smsstore), the job queue (smsqueue), the
// providers (smsalibaba, smstwilio) and the provider simulator (smssim) live
// in the packages below it and are passed in through small interfaces that
// this package defines.
package sms
