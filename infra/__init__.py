"""Infrastructure: settings, logging, the topic registry, admin, brokers and clients."""
