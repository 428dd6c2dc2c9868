/** The tests' name for the local broker (connectors/mqtt/local-broker.ts), which the demo runs too. */
export * from './local-broker';
