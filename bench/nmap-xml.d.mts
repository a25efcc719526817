// Types for nmap-xml.mjs (plain JS so the benchmark runs with bare `node`).
export function nmapXmlParts(hosts: number, portsPerHost: number): Generator<string>;
export function writeNmapXml(path: string, hosts: number, portsPerHost: number): Promise<void>;
