"""The dispatcher: alerts topic -> matching subscriptions -> delivery log -> channels."""
