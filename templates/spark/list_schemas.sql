show schemas
