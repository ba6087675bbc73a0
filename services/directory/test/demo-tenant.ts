// The demo tenant of DESIGN.md: one Amt of 14 municipalities, 47 sites, 60 staff. Seeded, so it
// is the same every time; `pnpm demo:directory` writes it to demo/amt-kropp.yaml, and a test
// checks the committed file is what this builds.
import { serviceNumber } from '@switchboard/numbering';
import { stringify } from 'yaml';
import { documentSchema, type DirectoryDocument } from '../src/model.js';
import { referenceProblems } from '../src/references.js';

export function buildDemoTenant(): DirectoryDocument {
  /** mulberry32: a tiny seeded generator, enough to pick names reproducibly. */
  function seeded(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
  }
  const random = seeded(4_624);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

  const MUNICIPALITIES = [
    { id: 'kropp', name: 'Kropp', postalCode: '24848', areaCode: '4624' },
    { id: 'alt-bennebek', name: 'Alt Bennebek', postalCode: '24848', areaCode: '4624' },
    { id: 'klein-bennebek', name: 'Klein Bennebek', postalCode: '24848', areaCode: '4624' },
    { id: 'klein-rheide', name: 'Klein Rheide', postalCode: '24848', areaCode: '4624' },
    { id: 'gross-rheide', name: 'Groß Rheide', postalCode: '24872', areaCode: '4624' },
    { id: 'tetenhusen', name: 'Tetenhusen', postalCode: '24817', areaCode: '4624' },
    { id: 'boerm', name: 'Börm', postalCode: '24863', areaCode: '4627' },
    { id: 'doerpstedt', name: 'Dörpstedt', postalCode: '24869', areaCode: '4627' },
    { id: 'erfde', name: 'Erfde', postalCode: '24803', areaCode: '4333' },
    { id: 'meggerdorf', name: 'Meggerdorf', postalCode: '24799', areaCode: '4332' },
    { id: 'bergenhusen', name: 'Bergenhusen', postalCode: '24861', areaCode: '4885' },
    { id: 'wohlde', name: 'Wohlde', postalCode: '24899', areaCode: '4885' },
    { id: 'norderstapel', name: 'Norderstapel', postalCode: '25868', areaCode: '4883' },
    { id: 'suederstapel', name: 'Süderstapel', postalCode: '25879', areaCode: '4883' },
  ] as const;
  type Municipality = (typeof MUNICIPALITIES)[number];

  const FIRST = [
    'Anke',
    'Birte',
    'Claus',
    'Dirk',
    'Frauke',
    'Gesa',
    'Hauke',
    'Inken',
    'Jens',
    'Kirsten',
    'Lars',
    'Maren',
    'Nils',
    'Ole',
    'Petra',
    'Rieke',
    'Sönke',
    'Telse',
    'Uwe',
    'Wiebke',
  ];
  const LAST = [
    'Hansen',
    'Jensen',
    'Petersen',
    'Thomsen',
    'Carstensen',
    'Clausen',
    'Jessen',
    'Lorenzen',
    'Nissen',
    'Paulsen',
    'Schmidt',
    'Sievers',
    'Struve',
    'Tiedemann',
    'Voß',
  ];
  const STREETS = [
    'Dorfstraße',
    'Hauptstraße',
    'Schulweg',
    'Kirchstraße',
    'Am Markt',
    'Bahnhofstraße',
    'Eiderweg',
    'Norderstraße',
  ];

  const OFFICE_HOURS = [
    ...(['mon', 'tue', 'wed', 'thu', 'fri'] as const).map((day) => ({ day, from: '08:00', to: '12:00' })),
    { day: 'thu' as const, from: '14:00', to: '18:00' },
  ];
  const KITA_HOURS = (['mon', 'tue', 'wed', 'thu', 'fri'] as const).map((day) => ({ day, from: '07:00', to: '16:00' }));
  const SCHOOL_HOURS = (['mon', 'tue', 'wed', 'thu', 'fri'] as const).map((day) => ({
    day,
    from: '07:30',
    to: '13:30',
  }));
  const DEPOT_HOURS = [
    ...(['mon', 'tue', 'wed', 'thu'] as const).map((day) => ({ day, from: '07:00', to: '16:00' })),
    { day: 'fri' as const, from: '07:00', to: '12:30' },
  ];

  type Site = DirectoryDocument['sites'][number];
  const sites: Site[] = [];
  function site(municipality: Municipality, kind: string, id: string, name: string, hours: Site['openingHours']): Site {
    const created: Site = {
      siteId: id,
      name,
      kind,
      municipality: municipality.name,
      address: {
        street: `${pick(STREETS)} ${1 + Math.floor(random() * 40)}`,
        postalCode: municipality.postalCode,
        city: municipality.name,
      },
      headcount: 0,
      openingHours: hours,
      closingDays: [],
    };
    sites.push(created);
    return created;
  }

  const byId = (id: string) => MUNICIPALITIES.find((municipality) => municipality.id === id)!;
  const amt = site(byId('kropp'), 'town-hall', 'amt-kropp', 'Amtsverwaltung Kropp-Stapelholm', OFFICE_HOURS);
  for (const municipality of MUNICIPALITIES) {
    site(municipality, 'town-hall', `gemeinde-${municipality.id}`, `Gemeindebüro ${municipality.name}`, [
      { day: 'tue', from: '17:00', to: '19:00' },
    ]);
  }
  const kitas = MUNICIPALITIES.map((municipality) =>
    site(municipality, 'kindergarten', `kita-${municipality.id}`, `Kita ${municipality.name}`, KITA_HOURS),
  );
  kitas[1]!.closingDays.push({ date: '2026-07-20', until: '2026-08-07', yearly: false, reason: 'Sommerschließzeit' });
  const libraries = ['kropp', 'erfde', 'norderstapel', 'gross-rheide'].map((id) =>
    site(byId(id), 'library', `bibliothek-${id}`, `Bücherei ${byId(id).name}`, [
      { day: 'tue', from: '14:00', to: '18:00' },
      { day: 'fri', from: '10:00', to: '12:00' },
    ]),
  );
  const depots = ['kropp', 'erfde', 'suederstapel', 'boerm', 'tetenhusen', 'bergenhusen'].map((id) =>
    site(byId(id), 'depot', `bauhof-${id}`, `Bauhof ${byId(id).name}`, DEPOT_HOURS),
  );
  // The depots' phones hang in open workshops: no calls abroad from there (the rest of the Amt may).
  for (const depot of depots) {
    depot.outboundOverride = {
      allowPremium: false,
      allowMassTraffic: false,
      allowDirectoryEnquiries: false,
      barInternational: true,
    };
  }
  const schools = [
    'kropp',
    'erfde',
    'norderstapel',
    'gross-rheide',
    'boerm',
    'meggerdorf',
    'doerpstedt',
    'tetenhusen',
  ].map((id) => site(byId(id), 'school', `schule-${id}`, `Grundschule ${byId(id).name}`, SCHOOL_HOURS));

  type Staff = DirectoryDocument['staff'][number];
  const staff: Staff[] = [];
  const usedNames = new Set<string>();
  function person(at: Site, skills: string[] = []): Staff {
    let displayName: string;
    do displayName = `${pick(FIRST)} ${pick(LAST)}`;
    while (usedNames.has(displayName));
    usedNames.add(displayName);
    const extension = String(101 + staff.length);
    const homeOffice = at === amt && random() < 0.25;
    const created: Staff = {
      staffId: `s-${extension}`,
      displayName,
      extension,
      devices: [`kropp-${extension}`],
      skills,
      siteId: at.siteId,
      homeOffice,
      homeOfficeNumber: homeOffice ? `+49151${String(20_000_000 + Math.floor(random() * 9_999_999))}` : '',
    };
    staff.push(created);
    at.headcount += 1;
    return created;
  }

  // 24 in the Amt building, 12 at the depots, 8 school offices, 4 libraries, 12 kindergarten heads.
  const team = (size: number, skills: string[] = []) => Array.from({ length: size }, () => person(amt, skills));
  const reception = team(2, ['reception']);
  const registration = team(6, ['registration']);
  const civilRegistry = team(3, ['civil-registry']);
  const fishing = team(2, ['fishing-licences', 'registration']);
  const kitaAdmin = team(3, ['kindergarten']);
  const publicOrder = team(3, ['public-order']);
  const building = team(3, ['building']);
  team(2, ['finance']);
  const depotStaff = depots.flatMap((depot) => [person(depot, ['depot']), person(depot, ['depot'])]);
  for (const school of schools) person(school, ['school']);
  for (const library of libraries) person(library, ['library']);
  for (const kita of kitas.slice(0, 12)) person(kita, ['kindergarten']);
  const finance = staff.filter((member) => member.skills.includes('finance'));
  // Counting up from 101 would hand out 110, 112 and 115, which phones dial as emergency and
  // service numbers: those colleagues get the free extensions after the last one instead. Their
  // staff ids and desk phones keep their names (they name the person and the phone, not the number).
  let spare = 101 + staff.length;
  for (const member of staff) {
    if (serviceNumber(member.extension)) member.extension = String(spare++);
  }

  type Department = DirectoryDocument['departments'][number];
  const members = (people: Staff[]) => people.map((member, index) => ({ staffId: member.staffId, priority: index }));
  const department = (
    fields: Partial<Department> & Pick<Department, 'departmentId' | 'name' | 'members'>,
  ): Department => ({
    siteId: amt.siteId,
    strategy: 'longest-idle',
    requiredSkills: [],
    ringTimeoutSeconds: 20,
    wrapUpSeconds: 30,
    maxWaitSeconds: 300,
    overflow: { kind: 'department', target: 'zentrale' },
    openingHours: [],
    faxMailbox: '',
    closingDays: [],
    closedTarget: { kind: 'none', target: '' },
    tierDelaySeconds: 0,
    callbackKey: '',
    ...fields,
  });
  const departments: Department[] = [
    department({
      departmentId: 'zentrale',
      name: 'Zentrale',
      members: members(reception),
      strategy: 'ring-all',
      overflow: { kind: 'callback', target: '' },
      maxWaitSeconds: 180,
      closedTarget: { kind: 'callback', target: '' },
    }),
    department({
      departmentId: 'buergerbuero',
      name: 'Bürgerbüro (Meldewesen, Umzug)',
      members: members([...registration, ...fishing]),
      faxMailbox: 'buergerbuero@amt-kropp.example',
      openingHours: [...OFFICE_HOURS, { day: 'sat', from: '09:00', to: '11:00' }],
      closedTarget: { kind: 'voicemail', target: 'buergerbuero' },
      // Its waiting callers may press 5 for a callback that keeps their place.
      callbackKey: '5',
    }),
    department({
      departmentId: 'standesamt',
      name: 'Standesamt (Geburten, Eheschließungen)',
      members: members(civilRegistry),
      // Faxes and voicemail messages for the department are mailed here.
      faxMailbox: 'standesamt@amt-kropp.example',
      overflow: { kind: 'voicemail', target: 'standesamt' },
      // The registry office alone is away on its yearly training day.
      closingDays: [{ date: '2026-09-04', reason: 'Fortbildung Standesamt', yearly: false, until: '' }],
      closedTarget: { kind: 'voicemail', target: 'standesamt' },
    }),
    department({
      departmentId: 'fischereischeine',
      name: 'Fischereischeine',
      members: members([...fishing, ...registration.slice(0, 2)]),
      strategy: 'skills',
      requiredSkills: ['fishing-licences'],
      overflow: { kind: 'department', target: 'buergerbuero' },
    }),
    department({
      departmentId: 'kita-verwaltung',
      name: 'Kita-Verwaltung',
      members: members(kitaAdmin),
      strategy: 'round-robin',
      // Mornings only, Monday to Thursday; a callback request outside them.
      openingHours: (['mon', 'tue', 'wed', 'thu'] as const).map((day) => ({ day, from: '08:00', to: '12:00' })),
      closedTarget: { kind: 'callback', target: '' },
    }),
    department({ departmentId: 'ordnungsamt', name: 'Ordnungsamt', members: members(publicOrder) }),
    department({
      departmentId: 'bauamt',
      name: 'Bauamt',
      members: members(building),
      faxMailbox: 'bauamt@amt-kropp.example',
      overflow: { kind: 'voicemail', target: 'bauamt' },
      closedTarget: { kind: 'voicemail', target: 'bauamt' },
    }),
    department({
      departmentId: 'bauhof',
      name: 'Bauhof',
      siteId: depots[0]!.siteId,
      members: members(depotStaff),
      strategy: 'ring-all',
      ringTimeoutSeconds: 30,
      wrapUpSeconds: 0,
      faxMailbox: 'bauhof@amt-kropp.example',
      openingHours: DEPOT_HOURS,
      closedTarget: { kind: 'voicemail', target: 'bauhof' },
    }),
    department({ departmentId: 'finanzen', name: 'Finanzen und Steuern', members: members(finance) }),
  ];

  const siteNumber = (at: Site, number: string, extension: string) => ({
    number,
    kind: 'main' as const,
    rangeDigits: 0,
    siteId: at.siteId,
    entryPoint: { kind: 'extension' as const, target: extension },
  });
  const numbers: DirectoryDocument['numbers'] = [
    {
      number: '+494624720',
      kind: 'main',
      rangeDigits: 0,
      siteId: amt.siteId,
      entryPoint: { kind: 'ivr-menu', target: 'main-menu' },
    },
    {
      number: '+49462472',
      kind: 'direct-dial-range',
      rangeDigits: 3,
      siteId: amt.siteId,
      entryPoint: { kind: 'department', target: 'zentrale' },
    },
    {
      number: '+4946247299',
      kind: 'fax',
      rangeDigits: 0,
      siteId: amt.siteId,
      entryPoint: { kind: 'fax-department', target: 'buergerbuero' },
    },
    {
      number: '+4946247298',
      kind: 'fax',
      rangeDigits: 0,
      siteId: amt.siteId,
      entryPoint: { kind: 'fax-department', target: 'bauamt' },
    },
    ...depots.map((depot, index) => ({
      number: `+49${byId(depot.siteId.replace('bauhof-', '')).areaCode}9180${index}`,
      kind: 'main' as const,
      rangeDigits: 0,
      siteId: depot.siteId,
      entryPoint: { kind: 'department' as const, target: 'bauhof' },
    })),
    ...schools.map((school, index) =>
      siteNumber(
        school,
        `+49${byId(school.siteId.replace('schule-', '')).areaCode}9270${index}`,
        staff.find((member) => member.siteId === school.siteId)!.extension,
      ),
    ),
    ...kitas
      .slice(0, 12)
      .map((kita, index) =>
        siteNumber(
          kita,
          `+49${byId(kita.siteId.replace('kita-', '')).areaCode}936${String(index).padStart(2, '0')}`,
          staff.find((member) => member.siteId === kita.siteId)!.extension,
        ),
      ),
  ];

  return documentSchema.parse({
    tenant: {
      tenantId: 't-kropp',
      name: 'Amt Kropp-Stapelholm',
      federalState: 'SH',
      timeZone: 'Europe/Berlin',
      closingDays: [
        { date: '2026-06-19', reason: 'Betriebsausflug', yearly: false, until: '' },
        { date: '2026-12-24', reason: 'Heiligabend', yearly: true, until: '' },
        { date: '2026-12-31', reason: 'Silvester', yearly: true, until: '' },
      ],
      // Written out although these are the defaults, so the document shows what can be changed.
      outboundPolicy: {
        allowPremium: false,
        allowMassTraffic: false,
        allowDirectoryEnquiries: false,
        barInternational: false,
      },
      privacy: { retentionDays: 90, aggregateOnlyStatistics: false },
    },
    sites,
    numbers,
    departments,
    staff,
  });
}

/** The YAML text of the demo tenant, as committed in demo/amt-kropp.yaml. */
export function renderDemoTenant(): string {
  const document = buildDemoTenant();
  const problems = referenceProblems(document);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return `# Demo tenant: Amt Kropp-Stapelholm (DESIGN.md). Generated by test/demo-tenant.ts; edit that, not this.\n${stringify(document, { singleQuote: true })}`;
}
