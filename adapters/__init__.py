"""Platform adapters: each turns one platform's payloads into Indaba's neutral events and back."""
