/**
 * The configuration variables that give one application its own id and topics
 * (`<appId>.in`, `<appId>.migrations`, …), so tests, benches and system runs never share topics.
 */
export function appTopicsEnv(appId: string, input = `${appId}.in`): Record<string, string> {
  return {
    IDRIFT_APP_ID: appId,
    IDRIFT_INPUT_TOPIC: input,
    IDRIFT_MIGRATIONS_TOPIC: `${appId}.migrations`,
    IDRIFT_CHURN_TOPIC: `${appId}.churn`,
    IDRIFT_PROFILES_TOPIC: `${appId}.profiles`,
    IDRIFT_DLQ_TOPIC: `${appId}.dlq`,
    IDRIFT_ALERT_BRIDGE_DLQ_TOPIC: `${appId}.churn.dlq`,
    IDRIFT_LATE_TOPIC: `${appId}.late`,
  };
}
