// Package webhook delivers outbound webhooks, signed as the Standard
// Webhooks specification (https://www.standardwebhooks.com) says: the
// Sealer that keeps signing secrets encrypted at rest, the Signer, and the
// Worker that sends the webhook outbox.
//
// Concurrency: Sealer and Signer are safe for concurrent use. A Worker's
// Run owns its goroutine; Wake may be called from any goroutine.
package webhook
