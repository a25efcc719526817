import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { TCP_NAMES_BY_RANK, TCP_PORTS_BY_RANK } from './port-table.js';
import { byRank, parsePortSpec, portRank, portsForName, portsMatchingName, selectPorts, serviceNameForPort, topPorts } from './ports.js';

/** The `<scaninfo services=...>` lists nmap 7.93 printed for `--top-ports 100` and `--top-ports 1000` (-sT, against 127.0.0.1). */
const NMAP_TOP_100 =
  '7,9,13,21-23,25-26,37,53,79-81,88,106,110-111,113,119,135,139,143-144,179,199,389,427,443-445,465,513-515,543-544,548,554,' +
  '587,631,646,873,990,993,995,1025-1029,1110,1433,1720,1723,1755,1900,2000-2001,2049,2121,2717,3000,3128,3306,3389,3986,4899,' +
  '5000,5009,5051,5060,5101,5190,5357,5432,5631,5666,5800,5900,6000-6001,6646,7070,8000,8008-8009,8080-8081,8443,8888,9100,' +
  '9999-10000,32768,49152-49157';
const NMAP_TOP_1000 =
  '1,3-4,6-7,9,13,17,19-26,30,32-33,37,42-43,49,53,70,79-85,88-90,99-100,106,109-111,113,119,125,135,139,143-144,' +
  '146,161,163,179,199,211-212,222,254-256,259,264,280,301,306,311,340,366,389,406-407,416-417,425,427,443-445,45' +
  '8,464-465,481,497,500,512-515,524,541,543-545,548,554-555,563,587,593,616-617,625,631,636,646,648,666-668,683,' +
  '687,691,700,705,711,714,720,722,726,749,765,777,783,787,800-801,808,843,873,880,888,898,900-903,911-912,981,98' +
  '7,990,992-993,995,999-1002,1007,1009-1011,1021-1100,1102,1104-1108,1110-1114,1117,1119,1121-1124,1126,1130-113' +
  '2,1137-1138,1141,1145,1147-1149,1151-1152,1154,1163-1166,1169,1174-1175,1183,1185-1187,1192,1198-1199,1201,121' +
  '3,1216-1218,1233-1234,1236,1244,1247-1248,1259,1271-1272,1277,1287,1296,1300-1301,1309-1311,1322,1328,1334,135' +
  '2,1417,1433-1434,1443,1455,1461,1494,1500-1501,1503,1521,1524,1533,1556,1580,1583,1594,1600,1641,1658,1666,168' +
  '7-1688,1700,1717-1721,1723,1755,1761,1782-1783,1801,1805,1812,1839-1840,1862-1864,1875,1900,1914,1935,1947,197' +
  '1-1972,1974,1984,1998-2010,2013,2020-2022,2030,2033-2035,2038,2040-2043,2045-2049,2065,2068,2099-2100,2103,210' +
  '5-2107,2111,2119,2121,2126,2135,2144,2160-2161,2170,2179,2190-2191,2196,2200,2222,2251,2260,2288,2301,2323,236' +
  '6,2381-2383,2393-2394,2399,2401,2492,2500,2522,2525,2557,2601-2602,2604-2605,2607-2608,2638,2701-2702,2710,271' +
  '7-2718,2725,2800,2809,2811,2869,2875,2909-2910,2920,2967-2968,2998,3000-3001,3003,3005-3007,3011,3013,3017,303' +
  '0-3031,3052,3071,3077,3128,3168,3211,3221,3260-3261,3268-3269,3283,3300-3301,3306,3322-3325,3333,3351,3367,336' +
  '9-3372,3389-3390,3404,3476,3493,3517,3527,3546,3551,3580,3659,3689-3690,3703,3737,3766,3784,3800-3801,3809,381' +
  '4,3826-3828,3851,3869,3871,3878,3880,3889,3905,3914,3918,3920,3945,3971,3986,3995,3998,4000-4006,4045,4111,412' +
  '5-4126,4129,4224,4242,4279,4321,4343,4443-4446,4449,4550,4567,4662,4848,4899-4900,4998,5000-5004,5009,5030,503' +
  '3,5050-5051,5054,5060-5061,5080,5087,5100-5102,5120,5190,5200,5214,5221-5222,5225-5226,5269,5280,5298,5357,540' +
  '5,5414,5431-5432,5440,5500,5510,5544,5550,5555,5560,5566,5631,5633,5666,5678-5679,5718,5730,5800-5802,5810-581' +
  '1,5815,5822,5825,5850,5859,5862,5877,5900-5904,5906-5907,5910-5911,5915,5922,5925,5950,5952,5959-5963,5987-598' +
  '9,5998-6007,6009,6025,6059,6100-6101,6106,6112,6123,6129,6156,6346,6389,6502,6510,6543,6547,6565-6567,6580,664' +
  '6,6666-6669,6689,6692,6699,6779,6788-6789,6792,6839,6881,6901,6969,7000-7002,7004,7007,7019,7025,7070,7100,710' +
  '3,7106,7200-7201,7402,7435,7443,7496,7512,7625,7627,7676,7741,7777-7778,7800,7911,7920-7921,7937-7938,7999-800' +
  '2,8007-8011,8021-8022,8031,8042,8045,8080-8090,8093,8099-8100,8180-8181,8192-8194,8200,8222,8254,8290-8292,830' +
  '0,8333,8383,8400,8402,8443,8500,8600,8649,8651-8652,8654,8701,8800,8873,8888,8899,8994,9000-9003,9009-9011,904' +
  '0,9050,9071,9080-9081,9090-9091,9099-9103,9110-9111,9200,9207,9220,9290,9415,9418,9485,9500,9502-9503,9535,957' +
  '5,9593-9595,9618,9666,9876-9878,9898,9900,9917,9929,9943-9944,9968,9998-10004,10009-10010,10012,10024-10025,10' +
  '082,10180,10215,10243,10566,10616-10617,10621,10626,10628-10629,10778,11110-11111,11967,12000,12174,12265,1234' +
  '5,13456,13722,13782-13783,14000,14238,14441-14442,15000,15002-15004,15660,15742,16000-16001,16012,16016,16018,' +
  '16080,16113,16992-16993,17877,17988,18040,18101,18988,19101,19283,19315,19350,19780,19801,19842,20000,20005,20' +
  '031,20221-20222,20828,21571,22939,23502,24444,24800,25734-25735,26214,27000,27352-27353,27355-27356,27715,2820' +
  '1,30000,30718,30951,31038,31337,32768-32785,33354,33899,34571-34573,35500,38292,40193,40911,41511,42510,44176,' +
  '44442-44443,44501,45100,48080,49152-49161,49163,49165,49167,49175-49176,49400,49999-50003,50006,50300,50389,50' +
  '500,50636,50800,51103,51493,52673,52822,52848,52869,54045,54328,55055-55056,55555,55600,56737-56738,57294,5779' +
  '7,58080,60020,60443,61532,61900,62078,63331,64623,64680,65000,65129,65389';

const list = (spec: string): number[] => [...parsePortSpec(spec)];

function errorOf(run: () => unknown): UsageError {
  try {
    run();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('expected a UsageError');
}

describe('parsePortSpec', () => {
  it('reads numbers, ranges and open ends, sorted and deduplicated', () => {
    expect(list('80,22,8000-8003,22')).toEqual([22, 80, 8000, 8001, 8002, 8003]);
    expect(list('-5')).toEqual([1, 2, 3, 4, 5]);
    expect(list('65533-')).toEqual([65533, 65534, 65535]);
    expect(parsePortSpec('-').length).toBe(65535);
    expect(parsePortSpec('-')[0]).toBe(1);
    expect(parsePortSpec('1-65535').length).toBe(65535);
    expect(list('T:22,80')).toEqual([22, 80]);
    expect(list('t:443')).toEqual([443]);
    expect(list('080')).toEqual([80]);
    expect(parsePortSpec('22')).toBeInstanceOf(Uint16Array);
  });
  it('includes port 0 only when written explicitly', () => {
    expect(list('0')).toEqual([0]);
    expect(list('0-2')).toEqual([0, 1, 2]);
    expect(list('-2')).toEqual([1, 2]);
    expect(parsePortSpec('-')).not.toContain(0);
  });
  it('reads service names and globs, case-insensitively', () => {
    expect(list('ssh')).toEqual([22]);
    expect(list('SSH,https')).toEqual([22, 443]);
    expect(list('http')).toEqual([...portsForName('http')]);
    expect(list('http')).toContain(80);
    expect(list('postgresql,mysql,redis')).toEqual([3306, 5432, 6379]);
    const httpish = list('http*');
    expect(httpish).toEqual(expect.arrayContaining([80, 443, 8080]));
    expect(httpish).toEqual(portsMatchingName('http*'));
    expect(list('ms-wbt-server')).toEqual([3389]);
  });
  it('reads [range] as the table ports within it', () => {
    const table = list('[1-1024]');
    expect(table.length).toBeGreaterThan(100);
    expect(table.length).toBeLessThan(1024);
    expect(table.every((p) => serviceNameForPort(p) !== undefined)).toBe(true);
  });
  it('rejects bad specs with E_PORT, naming the token', () => {
    const cases: [string, RegExp][] = [
      ['70000', /-p "70000": port 70000 is above 65535/],
      ['22,70000', /"70000": port 70000 is above/],
      ['1-70000', /"1-70000": port 70000 is above/],
      ['ssh2x', /-p "ssh2x": unknown service name/],
      ['nosuch*', /no service name matches/],
      ['5-1', /"5-1": range runs backwards; write 1-5/],
      [',,', /3 bad items in -p: -p "": empty item/],
      ['22,', /empty item/],
      ['', /empty port list/],
      ['U:53', /"U:53": UDP ports are not supported, only TCP/],
      ['T:22,U:53,111', /UDP ports are not supported/],
      ['S:9', /SCTP/],
      ['22, 80', /whitespace/],
      ['1-2-3', /not a port, range or service name/],
      ['[ssh]', /inside \[ \]/],
      ['99999999999999999999', /is above 65535/],
    ];
    for (const [spec, why] of cases) {
      const error = errorOf(() => parsePortSpec(spec));
      expect(error.code, spec).toBe('E_PORT');
      expect(error.message, spec).toMatch(why);
    }
  });
  it('survives hostile input', () => {
    expect(errorOf(() => parsePortSpec('22\0')).message).toContain('"\\x00"');
    expect(errorOf(() => parsePortSpec('２２')).message).toContain('\\u{ff12}');
    expect(errorOf(() => parsePortSpec('\x1b[31m')).message).not.toContain('\x1b');
    const garbage = Array.from({ length: 1 << 20 }, (_, i) => String.fromCharCode(33 + ((i * 31) % 94))).join('');
    const started = Date.now();
    const error = errorOf(() => parsePortSpec(garbage));
    expect(error.message.length).toBeLessThan(1000);
    expect(list(Array.from({ length: 200_000 }, (_, i) => String(i % 65536)).join(','))).toHaveLength(65536);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('port table', () => {
  it('knows service names for common ports', () => {
    expect(serviceNameForPort(22)).toBe('ssh');
    expect(serviceNameForPort(80)).toBe('http');
    expect(serviceNameForPort(443)).toBe('https');
    expect(serviceNameForPort(5432)).toBe('postgresql');
    expect(serviceNameForPort(3306)).toBe('mysql');
    expect(serviceNameForPort(6379)).toBe('redis');
    expect(serviceNameForPort(0)).toBeUndefined();
    expect(serviceNameForPort(70000)).toBeUndefined();
    expect(serviceNameForPort(1.5)).toBeUndefined();
    expect(portsForName('nosuchservice')).toEqual([]);
  });
  it('is well formed: distinct ports 1-65535, one name per port', () => {
    expect(new Set(TCP_PORTS_BY_RANK).size).toBe(TCP_PORTS_BY_RANK.length);
    expect(TCP_PORTS_BY_RANK.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)).toBe(true);
    expect(TCP_NAMES_BY_RANK.split(' ').length).toBe(TCP_PORTS_BY_RANK.length);
  });
  it('reproduces nmap --top-ports 100 and 1000 exactly', () => {
    expect([...topPorts(100)]).toEqual(list(NMAP_TOP_100));
    expect([...topPorts(1000)]).toEqual(list(NMAP_TOP_1000));
  });
  it('ranks by frequency and extends to all ports', () => {
    const top1000 = topPorts(1000);
    expect(new Set(top1000).size).toBe(1000);
    for (const p of [22, 80, 443, 3306, 5432]) expect(top1000).toContain(p);
    // nmap's own top 1000 leaves redis out (rank 2110 in nmap-services); matching nmap wins over intuition.
    expect(top1000).not.toContain(6379);
    expect(portRank(6379)).toBe(2109);
    expect(topPorts(2110)).toContain(6379);
    const set = new Set(top1000);
    expect([...topPorts(100)].every((p) => set.has(p))).toBe(true);
    expect(topPorts(65535).length).toBe(65535);
    expect(topPorts(100_000).length).toBe(65535);
    expect(portRank(80)).toBe(0);
    expect([...byRank([443, 22, 80, 65000])]).toEqual([80, 443, 22, 65000]);
    expect(portRank(0)).toBe(65535);
  });
});

describe('selectPorts', () => {
  it('defaults to the top 1000, -F to the top 100', () => {
    expect([...selectPorts()]).toEqual([...topPorts(1000)]);
    expect([...selectPorts({ fast: true })]).toEqual([...topPorts(100)]);
    expect(selectPorts({ topPorts: '10' }).length).toBe(10);
    expect(selectPorts({ topPorts: 65535 }).length).toBe(65535);
  });
  it('picks the top N among -p ports and applies --exclude-ports before picking', () => {
    expect([...selectPorts({ ports: '1-1024', topPorts: 3 })]).toEqual([23, 80, 443]);
    expect([...selectPorts({ ports: '1-442', topPorts: 3 })]).toEqual([21, 23, 80]);
    const top = selectPorts({ topPorts: 10, excludePorts: '80,443' });
    expect(top.length).toBe(10);
    expect(top).not.toContain(80);
    expect([...selectPorts({ ports: '20-25', excludePorts: '23' })]).toEqual([20, 21, 22, 24, 25]);
  });
  it('rejects contradictions and empty results', () => {
    expect(errorOf(() => selectPorts({ fast: true, ports: '22' })).message).toMatch(/-F and -p/);
    expect(errorOf(() => selectPorts({ fast: true, topPorts: 5 })).message).toMatch(/-F and --top-ports/);
    expect(errorOf(() => selectPorts({ ports: '22', excludePorts: '22' })).message).toMatch(/no ports left/);
    for (const bad of [0, -1, 65536, 1.5, '0', 'abc', '', '10x']) {
      const error = errorOf(() => selectPorts({ topPorts: bad }));
      expect(error.code).toBe('E_PORT');
      expect(error.message).toMatch(/--top-ports .*: give a whole number from 1 to 65535/);
    }
    expect(errorOf(() => selectPorts({ excludePorts: '70000' })).message).toMatch(/--exclude-ports "70000"/);
  });
});
