// Petrel core: the sans-IO engine. Filled in by the protocol and log buffer modules.
export {};
