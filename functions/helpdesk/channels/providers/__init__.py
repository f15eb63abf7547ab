"""One module per provider: verify the request the provider's way, then normalize its payload
into `channels.events` shapes. `channels.adapters` picks the module by channel type."""
