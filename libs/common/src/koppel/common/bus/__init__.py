"""Message bus: one interface, an in-process and a RabbitMQ transport."""
