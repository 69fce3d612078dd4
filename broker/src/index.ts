/** Public surface of @tsunagaru/broker. Anything not exported here is internal. */
export { createBroker, type BrokerOptions, type BrokerStats, type ListenOptions, type TsunagaruBroker } from './broker.js';
export { AuthThrottle, PublishRateLimiter, AUTH_THROTTLE_DEFAULTS, PUBLISH_LIMIT_DEFAULTS, type AuthThrottleOptions, type PublishLimitOptions } from './throttle.js';
export { ensureDevCertificates, issueDeviceCertificate, readTlsFiles, tlsDirFor, type DevCertificates, type TlsFiles } from './tls.js';
export { peerCertificateOf, type TlsListenOptions, type PeerCertificate } from './listeners.js';
export { authenticateCertificate } from './auth.js';
export { canPublish, canSubscribe, clientIdAllowed, type AclDecision, type Principal } from './acl.js';
export { authenticateCredentials, sessionStillValid, type AuthOutcome } from './auth.js';
export { DENIAL_REASONS, REVOCATION_REASONS, type DenialReason, type RevocationReason } from './denials.js';
export { loadBrokerConfig, redactUrl, type BrokerConfig } from './config.js';
export { safeDestination, SafeDestination, type SafeDestinationOptions, type SafeDestinationStats } from './safe-destination.js';
export { brokerEnv, brokerConfigFrom, brokerLimitsFrom, parseBrokerEnv, loadBrokerLimits, limitsOf, type BrokerEnv, type BrokerLimits } from './config.js';
export { SecretCheck, SECRET_CHECK_DEFAULTS, defaultVerifyConcurrency, type SecretCheckOptions, type SecretCheckStats } from './secret-check.js';
export { CONNECTION_LOG_DEFAULTS, type ConnectionLogOptions } from './connection-log.js';
export { SESSION_LIMIT_DEFAULTS, type SessionLimitOptions } from './device-sessions.js';
export { openRedisCluster, redisOptionsFromUrl, type BrokerCluster, type RedisClusterOptions, type RecoveredWill } from './cluster.js';
export {
  writeMosquittoConfig,
  mosquittoPasswordLine,
  mosquittoAcl,
  mosquittoConf,
  MOSQUITTO_QUEUE_DEFAULTS,
  integrationRights,
  INGEST_INTEGRATION_RIGHTS,
  type TopicRights,
  type MosquittoQueue,
  type MosquittoCredential,
  type MosquittoConfigOptions,
  type MosquittoConfigFiles,
} from './mosquitto-config.js';
export * from './errors.js';

export type { AttributeValue, DeviceRecord, DeviceRegistry, GeoLocation, ProvisionInput, ProvisionResult, ServiceAccount } from '@tsunagaru/firmware-contracts';
export { MemoryDeviceRegistry } from './registry/memory-registry.js';
export { FileDeviceRegistry, registryPathFor, type FileRegistryOptions } from './registry/file-registry.js';
export type { RegistryLogger, RegistryOptions } from './registry/base-registry.js';
export { generateSecret, hashSecret, verifySecret, parseSecretHash, SCRYPT_DEFAULTS, type HashSecretOptions } from './registry/secret-hash.js';
export { MIN_SECRET_LENGTH } from './registry/validate.js';
export {
  CHIRPSTACK_EVENTS,
  DEV_EUI_PATTERN,
  SPARKPLUG_NAMESPACE,
  integrationCanPublish,
  integrationCanSubscribe,
  isTopicLevelId,
  parseChirpStackCommandTopic,
  parseChirpStackEventTopic,
  parseSparkplugStateTopic,
  parseSparkplugTopic,
  type IntegrationScope,
  type SparkplugTopic,
} from './integrations/integration-acl.js';
export { checkIntegrationScope, describeScope } from './integrations/integration-scope.js';
export { principalOfService } from './auth.js';
