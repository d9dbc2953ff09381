"""VK simulator: messages.send to a phone number from a community, and its Callback API."""
