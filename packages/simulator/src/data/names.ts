/**
 * Name material for seeded objects. About one person in twenty gets a "difficult" display name
 * (commas, quotes, non-ASCII, a newline, an emoji) because output writers are tested against them;
 * aliases always stay ASCII like real Exchange aliases.
 */

export const FIRST_NAMES: readonly string[] = [
  'Adele',
  'Alex',
  'Allan',
  'Bianca',
  'Carlos',
  'Chen',
  'Christie',
  'Debra',
  'Diego',
  'Emily',
  'Fatima',
  'Grady',
  'Hana',
  'Henrietta',
  'Irvin',
  'Isaiah',
  'Johanna',
  'Joni',
  'Kenji',
  'Lee',
  'Lidia',
  'Lynne',
  'Megan',
  'Miriam',
  'Nestor',
  'Nora',
  'Patti',
  'Pradeep',
  'Raul',
  'Sakura',
  'Sven',
  'Tamara',
  'Umar',
  'Vera',
  'Wanda',
  'Xavier',
  'Yasmin',
  'Zach',
];

export const LAST_NAMES: readonly string[] = [
  'Adams',
  'Bauer',
  'Clark',
  'Dubois',
  'Evans',
  'Fischer',
  'Garcia',
  'Gupta',
  'Holt',
  'Ito',
  'Jensen',
  'Kowalski',
  'Lopez',
  'Meyer',
  'Nakamura',
  'Novak',
  'Okafor',
  'Patel',
  'Quinn',
  'Rossi',
  'Schmidt',
  'Silva',
  'Tanaka',
  'Vance',
  'Wagner',
  'Walsh',
  'Wilber',
  'Young',
  'Zhang',
  'Zimmerman',
];

/** Display names that break naive CSV/JSON writers, with the ASCII alias stem each maps to. */
export const DIFFICULT_PEOPLE: readonly { displayName: string; aliasStem: string }[] = [
  { displayName: 'Zoë Müller', aliasStem: 'zoe.muller' },
  { displayName: "O'Brien, Seán", aliasStem: 'sean.obrien' },
  { displayName: '李 娜', aliasStem: 'li.na' },
  { displayName: 'Smith, John "JJ"', aliasStem: 'john.smith' },
  { displayName: 'Łukasz Żółć', aliasStem: 'lukasz.zolc' },
  { displayName: 'Ангелина Иванова', aliasStem: 'angelina.ivanova' },
  { displayName: 'محمد علي', aliasStem: 'mohamed.ali' },
  { displayName: 'Renée\nDubois', aliasStem: 'renee.dubois' },
  { displayName: 'José 🚀 García', aliasStem: 'jose.garcia' },
  { displayName: 'Ärzte; Team "Nord", Köln', aliasStem: 'aerzte.nord' },
];

export const TEAM_WORDS: readonly string[] = [
  'Sales',
  'Support',
  'Finance',
  'Marketing',
  'Legal',
  'Research',
  'Operations',
  'Facilities',
  'Payroll',
  'Recruiting',
  'Security',
  'Design',
  'Training',
  'Reception',
  'Logistics',
];

export const ROOM_WORDS: readonly string[] = ['Aurora', 'Boardroom', 'Cedar', 'Delta', 'Everest', 'Fjord', 'Granite', 'Harbor', 'Iris', 'Juniper'];

export const EQUIPMENT_WORDS: readonly string[] = ['Projector', 'Van', 'Camera', 'Laptop Cart', 'Bike', 'Podium'];

export const OFFICES: readonly string[] = ['Seattle', 'London', 'Berlin, Mitte', 'Paris', 'Tokyo', 'Bengaluru', 'São Paulo'];

export const USAGE_LOCATIONS: readonly string[] = ['United States', 'United Kingdom', 'Germany', 'France', 'Japan', 'India', 'Brazil', 'Netherlands'];

export const PARTNER_DOMAINS: readonly string[] = ['fabrikam.com', 'northwindtraders.com', 'tailspintoys.com', 'adventure-works.com'];

/** `Contoso` from `contoso.onmicrosoft.com`. */
export function organizationPrefix(organization: string): string {
  return organization.split('.')[0] ?? organization;
}

/** Lower-case ASCII letters only, for aliases built from names. */
export function asciiStem(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
