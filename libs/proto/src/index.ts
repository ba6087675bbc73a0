// Public surface of the generated protobuf types: one namespace per proto package.
export * as commonV1 from './gen/switchboard/common/v1/event_meta.js';
export * as callV1 from './gen/switchboard/call/v1/call_events.js';
export * as callControlV1 from './gen/switchboard/callcontrol/v1/call_control.js';
export * as auditV1 from './gen/switchboard/audit/v1/audit.js';
export * as directoryV1 from './gen/switchboard/directory/v1/directory.js';
export * as directoryEventsV1 from './gen/switchboard/directory/v1/directory_events.js';
export * as directoryServiceV1 from './gen/switchboard/directory/v1/directory_service.js';
export * as faxV1 from './gen/switchboard/fax/v1/fax_events.js';
export * as faxServiceV1 from './gen/switchboard/fax/v1/fax_service.js';
export * as ivrV1 from './gen/switchboard/ivr/v1/ivr_events.js';
export * as ivrServiceV1 from './gen/switchboard/ivr/v1/ivr_service.js';
export * as ratingV1 from './gen/switchboard/rating/v1/rating_events.js';
export * as ratingServiceV1 from './gen/switchboard/rating/v1/rating_service.js';
export * as billingV1 from './gen/switchboard/billing/v1/billing_service.js';
export * as billingEventsV1 from './gen/switchboard/billing/v1/billing_events.js';
export * as presenceV1 from './gen/switchboard/presence/v1/presence_service.js';
export * as routingV1 from './gen/switchboard/routing/v1/routing_service.js';
export { loadProtoPackageDefinition, PROTO_ROOT } from './descriptors.js';
