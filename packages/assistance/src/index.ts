export * from './channels/index.js';
export * from './config.js';
export { channelConsumer } from './consumer.js';
export * as Assistance from './requests.js';
export * from './routes.js';
export {
  CATCH_ALL,
  DEFAULT_ROUTING_RULES,
  type Destination,
  knownTopics,
  parseRules,
  parseRulesText,
  type RoutingRule,
  type RoutingRules,
  route,
} from './rules.js';
export * from './schemas.js';
