import { callControlV1 } from '@switchboard/proto';
import { definePolicy } from '@switchboard/service-kit';

// Call control drives live calls and places calls out (paid, and a path to premium numbers): the
// tenant's administrator and operators may; routing (role service) only for the commands its
// call flow sends (over NATS); agents and finance never.
const ADMINS = { admin: 'tenant', operator: 'any-tenant' } as const;
const ADMINS_AND_ROUTING = { ...ADMINS, service: 'any-tenant' } as const;

/** Who may call what on call control (the table in services/README.md is generated from this). */
export const callControlPolicy = definePolicy(callControlV1.CallControlServiceService, {
  answer: { description: "Answers the caller's channel.", audit: false, allow: ADMINS_AND_ROUTING },
  play: { description: 'Plays media to the caller.', audit: false, allow: ADMINS_AND_ROUTING },
  stopPlayback: { description: 'Stops a playback.', audit: false, allow: ADMINS },
  playAndCollect: { description: 'Plays prompts and collects digits.', audit: false, allow: ADMINS_AND_ROUTING },
  startMusicOnHold: { description: 'Starts music on hold.', audit: false, allow: ADMINS_AND_ROUTING },
  stopMusicOnHold: { description: 'Stops music on hold.', audit: false, allow: ADMINS },
  dial: { description: 'Dials an endpoint as a new leg of the call.', audit: false, allow: ADMINS_AND_ROUTING },
  dialAll: { description: 'Rings several targets at once (ring-all).', audit: false, allow: ADMINS_AND_ROUTING },
  recordVoicemail: { description: "Records the caller's message.", audit: false, allow: ADMINS_AND_ROUTING },
  forward: { description: 'Connects the caller to an external number.', audit: false, allow: ADMINS_AND_ROUTING },
  hangupLeg: { description: 'Hangs up one dialled leg.', audit: false, allow: ADMINS },
  receiveFax: { description: "Receives a fax on the caller's channel.", audit: false, allow: ADMINS_AND_ROUTING },
  hangup: { description: 'Ends the whole call.', audit: false, allow: ADMINS_AND_ROUTING },
  originate: {
    description: 'Places a new outbound call to an external number (callbacks).',
    audit: false,
    allow: ADMINS_AND_ROUTING,
  },
});
