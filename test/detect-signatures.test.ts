/**
 * `--signatures FILE` end to end: the CLI loads a user YAML file or a Recog XML database, runs the
 * user's probe on a port, and lets field signatures name what a built-in detector only recognised.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runCli } from './helpers/cli.js';
import { loopbackServers } from './helpers/loopback-server.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/signatures/${name}`, import.meta.url));

describe('--signatures', () => {
  const servers = loopbackServers();
  let widget = 0;
  let hexWidget = 0;
  let acme = 0;
  beforeAll(async () => {
    widget = await servers.serve((s) => s.write('SSH-2.0-WidgetSSH_1.9\r\n'));
    hexWidget = await servers.serve((s) => s.write('SSH-2.0-widgetssh_C0FFEE\r\n'));
    acme = await servers.serve((s) => s.on('data', (d) => d.toString('latin1') === 'HELLO\r\n' && s.write('ACME-2.4 ready\r\n')));
  });
  afterAll(() => servers.closeAll());

  async function services(args: string[], ports = [widget, hexWidget, acme]): Promise<Map<number, Record<string, unknown>>> {
    const r = await runCli(['scan', '-Pn', '--no-progress', '-p', ports.join(','), '-oJ', '-', ...args, '127.0.0.1']);
    expect(r.code, r.stderr).toBe(0);
    return new Map(jsonLines(r.stdout).filter((l) => l.type === 'port').map((l) => [Number(l.port), l.service as Record<string, unknown>]));
  }

  it('runs a user probe and names a product through a field signature (YAML)', async () => {
    const s = await services(['--signatures', fixture('user.yaml')]);
    expect(s.get(acme)).toMatchObject({ name: 'acme', product: 'Acme Widget Server', version: '2.4', method: 'probed', cpe: ['cpe:2.3:a:acme:widget_server:2.4:*:*:*:*:*:*:*'] });
    expect(s.get(widget)).toMatchObject({ name: 'ssh', product: 'WidgetSSH', version: '1.9', ostype: 'Linux' });
  });

  it('without the file, the same ports stay generic', async () => {
    // A silent port runs every probe: a short budget keeps the test quick.
    const s = await services(['--version-timeout', '4s']);
    expect(s.get(widget)?.name).toBe('ssh');
    expect(s.get(widget)?.product).toBeUndefined();
    expect(s.get(acme)?.name).not.toBe('acme');
  });

  it('loads a Recog database (Ruby regex dialect: \\h, \\z, REG_ICASE)', async () => {
    const s = await services(['--signatures', fixture('recog-ssh.xml')], [hexWidget]);
    expect(s.get(hexWidget)).toMatchObject({ name: 'ssh', product: 'WidgetSSH', version: 'C0FFEE' });
  });
});
