import { describe, expect, it } from 'vitest';
import { bindScope, canonicalBindAddress, compareListenerPorts, isHostAddress, LISTENER_REASON, listenerPort } from './bind-scope.js';

describe('canonicalBindAddress', () => {
  it.each([
    ['0.0.0.0', '0.0.0.0'],
    ['127.0.0.1', '127.0.0.1'],
    ['[::]', '::'],
    ['::', '::'],
    ['[::1]', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['[::FFFF:127.0.0.1]', '::ffff:127.0.0.1'],
    ['*', '*'],
    ['127.0.0.53%lo', '127.0.0.53%lo'],
    ['[fe80::1]%eth0', 'fe80::1%eth0'],
    ['[fe80::1c2d:3e4f:5a6b:7c8d%12]', 'fe80::1c2d:3e4f:5a6b:7c8d%12'],
    ['0.0.0.0%dum0', '0.0.0.0%dum0'],
  ])('%s → %s', (text, want) => {
    expect(canonicalBindAddress(text)).toBe(want);
  });

  it.each(['', 'localhost', '1.2.3', '999.1.1.1', '[::1', '::1]', '1.2.3.4%', '1.2.3.4%bad/zone', '1.2.3.4%a b', 'x'.repeat(65), '010.0.0.1', '*%'])(
    'rejects %j',
    (text) => {
      expect(canonicalBindAddress(text)).toBeUndefined();
    },
  );
});

describe('bindScope', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.3.4', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['127.0.0.53%lo', 'loopback'],
    ['192.0.2.10%lo', 'loopback'],
    ['0.0.0.0%lo', 'loopback'],
    ['0.0.0.0', 'all'],
    ['::', 'all'],
    ['*', 'all'],
    ['::ffff:0.0.0.0', 'all'],
    ['0.0.0.0%eth0', 'specific'],
    ['*%eth0', 'specific'],
    ['192.0.2.10', 'specific'],
    ['2001:db8::10', 'specific'],
    ['fe80::1%12', 'specific'],
    ['128.0.0.1', 'specific'],
    ['::2', 'specific'],
  ] as const)('%s is %s', (address, scope) => {
    expect(bindScope(address)).toBe(scope);
  });
});

describe('isHostAddress', () => {
  it.each(['192.0.2.10', '10.0.0.1', '2001:db8::10', '::ffff:192.0.2.1'])('%s can name a host', (a) => {
    expect(isHostAddress(a)).toBe(true);
  });
  it.each(['127.0.0.1', '::1', '0.0.0.0', '::', '*', '169.254.1.1', 'fe80::1', 'febf::1', 'ff02::1', '224.0.0.251', '255.255.255.255', '192.0.2.1%eth0', 'junk', '::ffff:127.0.0.1'])(
    '%s cannot',
    (a) => {
      expect(isHostAddress(a)).toBe(false);
    },
  );
});

describe('listenerPort', () => {
  it('is an open port with the table service and the listener', () => {
    const p = listenerPort('tcp', 22, { bindAddress: '0.0.0.0', scope: 'all', pid: 1 });
    expect(p).toEqual({
      protocol: 'tcp',
      port: 22,
      state: 'open',
      reason: LISTENER_REASON,
      tries: 0,
      service: { name: 'ssh', method: 'table', confidence: 3, cpe: [] },
      listener: { bindAddress: '0.0.0.0', scope: 'all', pid: 1 },
    });
    expect(LISTENER_REASON).toBe('syn-ack');
  });

  it('has no service for a port outside the table', () => {
    expect(listenerPort('udp', 61999, { bindAddress: '::', scope: 'all' }).service).toBeUndefined();
  });

  it('orders by protocol, port, scope (widest last), bind address, pid', () => {
    const l = (protocol: 'tcp' | 'udp', port: number, bindAddress: string, pid?: number) =>
      listenerPort(protocol, port, { bindAddress, scope: bindScope(bindAddress), ...(pid !== undefined && { pid }) });
    const list = [
      l('udp', 53, '0.0.0.0'),
      l('tcp', 80, '::'),
      l('tcp', 80, '0.0.0.0', 9),
      l('tcp', 80, '0.0.0.0', 3),
      l('tcp', 80, '192.0.2.1'),
      l('tcp', 80, '127.0.0.1'),
      l('tcp', 22, '::'),
    ];
    expect(list.sort(compareListenerPorts).map((p) => `${p.protocol}/${p.port}/${p.listener?.bindAddress}/${p.listener?.pid}`)).toEqual([
      'tcp/22/::/undefined',
      'tcp/80/127.0.0.1/undefined',
      'tcp/80/192.0.2.1/undefined',
      'tcp/80/0.0.0.0/3',
      'tcp/80/0.0.0.0/9',
      'tcp/80/::/undefined',
      'udp/53/0.0.0.0/undefined',
    ]);
  });
});
