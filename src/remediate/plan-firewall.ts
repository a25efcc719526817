/**
 * What a plan says per firewall backend: the ruleset fragment before and after the change (built by
 * the backends' own exported rule writers, so the plan shows exactly what the script loads), what
 * the apply script backs up, how the rule survives a reboot, a log rule for monitoring, and the
 * backend's documentation. Every value comes from a validated spec.
 */
import { firewalldRichRules } from './firewall/firewalld.js';
import { chainRules, iptablesChainName, iptablesCommand } from './firewall/iptables.js';
import { NFT_TABLE, nftChainName, nftRuleset } from './firewall/nftables.js';
import { ufwRules } from './firewall/ufw.js';
import { blockedRemoteAddresses, windowsRuleName } from './firewall/windows.js';
import type { DocLink } from './knowledge.js';
import type { FirewallRuleSpec } from './types.js';
import { familiesOf, validateSpec } from './validate.js';

/** The state of the port's rules before and after the apply script, as the backend's own syntax. */
export interface RulesetView {
  before: string;
  after: string;
}

/** Before/after for one backend and spec, in the rules the backend's script loads. */
export function rulesetView(backend: string, input: FirewallRuleSpec): RulesetView {
  const spec = validateSpec(input);
  const where = `${spec.protocol} port ${spec.port}`;
  switch (backend) {
    case 'nftables': {
      const chain = `${NFT_TABLE} ${nftChainName(spec)}`;
      return { before: `# nft list chain ${chain}\n# (no such chain yet: nothing in table ${NFT_TABLE} filters ${where})`, after: `# nft -f input: the whole state of chain ${chain}\n${nftRuleset(spec).join('\n')}` };
    }
    case 'iptables': {
      const chain = iptablesChainName(spec);
      const jumps = familiesOf(spec.family).map((f) => `${iptablesCommand(f)} -I INPUT 1 -p ${spec.protocol} --dport ${spec.port} -j ${chain}`);
      return {
        before: `# iptables -S ${chain}\n# (no such chain yet; INPUT has no jump for ${where})`,
        after: [`# iptables-restore --noflush input, then the jump from INPUT`, ...familiesOf(spec.family).flatMap((f) => chainRules(spec, f)), ...jumps].join('\n'),
      };
    }
    case 'ufw':
      return {
        before: `# ufw status numbered\n# (no rule commented portolan:${spec.findingKey} for ${where})`,
        after: [`# added at the top of ufw's user rules, in this order`, ...ufwRules(spec).map((args) => `ufw ${args.join(' ')}`)].join('\n'),
      };
    case 'firewalld':
      return {
        before: `# firewall-cmd --list-rich-rules\n# (no rich rule for ${where} in the default zone)`,
        after: [`# rich rules in the default zone (permanent, then --reload)`, ...firewalldRichRules(spec)].join('\n'),
      };
    case 'windows': {
      const name = windowsRuleName(spec);
      return {
        before: `# Get-NetFirewallRule -Name ${name}\n# (no such rule yet: Windows Firewall has no portolan block for ${where})`,
        after: [`Name          ${name}`, 'Direction     Inbound', 'Action        Block', `Protocol      ${spec.protocol.toUpperCase()}`, `LocalPort     ${spec.port}`, `RemoteAddress ${blockedRemoteAddresses(spec).join(', ')}`].join('\n'),
      };
    }
    default:
      return { before: `# (the ${backend} rules for ${where} before the change)`, after: `# (the ${backend} rules for ${where} after the change)` };
  }
}

/** What the apply script saves before it changes anything, per script backend. */
export const BACKUP_WHAT: Readonly<Record<string, string>> = {
  nftables: 'the whole ruleset (nft list ruleset)',
  iptables: 'iptables-save and ip6tables-save dumps of every table',
  ufw: 'user.rules, user6.rules and ufw.conf',
  firewalld: 'the permanent zone files under /etc/firewalld/zones',
  windows: 'the whole firewall policy (netsh advfirewall export)',
  systemd: "the unit's is-enabled and is-active state",
  sysv: "the init script's enabled and running state",
  'windows-service': "the service's StartType and Status",
  apt: 'the installed package version',
};

/** How the rule survives a reboot, or undefined when the backend keeps it anyway. */
export function persistence(backend: string, port: number, protocol: string): string | undefined {
  switch (backend) {
    case 'nftables':
      return `The table ${NFT_TABLE} lives in the kernel until the next reboot; to keep the ${protocol}/${port} chain, append its dump to the boot ruleset: nft list table ${NFT_TABLE} >> /etc/nftables.conf (and enable nftables.service).`;
    case 'iptables':
      return `iptables rules for ${protocol}/${port} are lost at reboot unless saved: apt-get install iptables-persistent, then netfilter-persistent save.`;
    default:
      return undefined;
  }
}

/**
 * A rule (or setting) that logs new connection attempts to the port, with how to read them back.
 * `chain`: the port's portolan chain exists (block or allowlist applied), so the log rule goes in
 * front of its rules; otherwise a log-only rule of its own is added.
 */
export function logRule(backend: string, port: number, protocol: 'tcp' | 'udp', family: 4 | 6 | 'both', chain: boolean): { lines: string[]; powershell: boolean; read: string } {
  const prefix = `portolan-${protocol}-${port} `;
  const journal = `journalctl -k -g '${prefix.trim()}' --since -1h`;
  const limit = 'limit rate 10/minute';
  switch (backend) {
    case 'nftables': {
      const name = `${NFT_TABLE} ${nftChainName({ protocol, port })}`;
      const rule = `${protocol} dport ${port} ct state new ${limit} log prefix "${prefix}"`;
      const lines = chain
        ? [`nft 'insert rule ${name} ${rule}'`]
        : [`nft add table ${NFT_TABLE}`, `nft 'add chain ${name} { type filter hook input priority filter; policy accept; }'`, `nft 'add rule ${name} ${rule}'`];
      return { lines, powershell: false, read: journal };
    }
    case 'iptables': {
      const match = `-m conntrack --ctstate NEW -m limit --limit 10/min -j LOG --log-prefix '${prefix}'`;
      const lines = chain
        ? familiesOf(family).map((f) => `${iptablesCommand(f)} -I ${iptablesChainName({ protocol, port })} 1 ${match}`)
        : familiesOf(family).map((f) => `${iptablesCommand(f)} -I INPUT 1 -p ${protocol} --dport ${port} ${match}`);
      return { lines, powershell: false, read: journal };
    }
    case 'ufw':
      return { lines: ['ufw logging medium'], powershell: false, read: `grep 'DPT=${port} ' /var/log/ufw.log | tail -n 50` };
    case 'firewalld':
      return { lines: ['firewall-cmd --set-log-denied=unicast'], powershell: false, read: `journalctl -k -g 'DPT=${port} ' --since -1h` };
    default:
      return {
        lines: ['Set-NetFirewallProfile -Profile Domain,Private,Public -LogBlocked True -LogAllowed True -LogMaxSizeKilobytes 16384'],
        powershell: true,
        read: `Select-String -Path "$env:SystemRoot\\System32\\LogFiles\\Firewall\\pfirewall.log" -Pattern ' ${port} ' | Select-Object -Last 50`,
      };
  }
}

/** The backend's documentation. */
export const FIREWALL_DOCS: Readonly<Record<string, readonly DocLink[]>> = {
  nftables: [
    { title: 'nftables wiki: quick reference', url: 'https://wiki.nftables.org/wiki-nftables/index.php/Quick_reference-nftables_in_10_minutes' },
    { title: 'nftables wiki: logging traffic', url: 'https://wiki.nftables.org/wiki-nftables/index.php/Logging_traffic' },
    { title: 'nft(8) manual', url: 'https://www.netfilter.org/projects/nftables/manpage.html' },
  ],
  iptables: [
    { title: 'Debian manual: iptables(8)', url: 'https://manpages.debian.org/bookworm/iptables/iptables.8.en.html' },
    { title: 'Debian manual: iptables-extensions(8) (conntrack, LOG)', url: 'https://manpages.debian.org/bookworm/iptables/iptables-extensions.8.en.html' },
  ],
  ufw: [
    { title: 'Debian manual: ufw(8)', url: 'https://manpages.debian.org/bookworm/ufw/ufw.8.en.html' },
    { title: 'Ubuntu community help: UFW', url: 'https://help.ubuntu.com/community/UFW' },
  ],
  firewalld: [
    { title: 'firewalld documentation', url: 'https://firewalld.org/documentation/' },
    { title: 'firewalld.richlanguage(5)', url: 'https://firewalld.org/documentation/man-pages/firewalld.richlanguage.html' },
  ],
  windows: [
    { title: 'Microsoft: New-NetFirewallRule', url: 'https://learn.microsoft.com/powershell/module/netsecurity/new-netfirewallrule' },
    { title: 'Microsoft: Set-NetFirewallProfile (logging)', url: 'https://learn.microsoft.com/powershell/module/netsecurity/set-netfirewallprofile' },
  ],
};
