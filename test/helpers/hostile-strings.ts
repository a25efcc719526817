/**
 * Strings no validated field may accept: shell metacharacters, control characters, quotes, spaces,
 * lookalike digits, and a 100 KB string. Shared by the remediation tests.
 */
export const HOSTILE: readonly string[] = [
  '',
  ';',
  'eth0;reboot',
  '$(touch /tmp/pwned)',
  '`id`',
  'a\nb',
  'a\rb',
  "it's",
  '"quoted"',
  'with space',
  'tab\there',
  'back\\slash',
  'nul\0byte',
  'ëth0',
  '٢٢', // Arabic-Indic digits
  '１０.０.０.１', // fullwidth digits
  '10.0.0.0/8;id',
  '10.0.0.0/8\n',
  '*',
  '|',
  '&',
  '>x',
  'x'.repeat(100_000),
];
