// Public surface of the generated protobuf types: one namespace per proto package.
export * as commonV1 from './gen/switchboard/common/v1/event_meta.js';
export * as callV1 from './gen/switchboard/call/v1/call_events.js';
export * as callControlV1 from './gen/switchboard/callcontrol/v1/call_control.js';
export * as faxV1 from './gen/switchboard/fax/v1/fax_events.js';
export * as faxServiceV1 from './gen/switchboard/fax/v1/fax_service.js';
export * as ratingV1 from './gen/switchboard/rating/v1/rating_events.js';
export * as presenceV1 from './gen/switchboard/presence/v1/presence_service.js';
export { loadProtoPackageDefinition, PROTO_ROOT } from './descriptors.js';
