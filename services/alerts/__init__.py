"""Alert subscriptions: supervisors subscribe to the pipeline's alerts (API), the dispatcher
delivers each alert once on the channel they chose (e-mail and chat through apprise, signed
webhooks)."""
