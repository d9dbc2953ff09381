"""FlashingCall simulator: a voice provider's flash-call API and its status callbacks."""
