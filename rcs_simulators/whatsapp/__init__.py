"""WhatsApp Business Cloud API simulator: the messages call and its signed webhooks."""
