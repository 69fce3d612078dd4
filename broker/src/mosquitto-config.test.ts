import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pbkdf2Sync } from 'node:crypto';
import { mosquittoAcl, mosquittoDynamicSecurity, mosquittoPasswordLine, writeMosquittoConfig } from './mosquitto-config.js';

describe('mosquitto-config', () => {
  it('matches a line produced by mosquitto_passwd 2.0.11 for the same salt', async () => {
    // `mosquitto_passwd -c -b pw dev-1 supersecretpassword1` printed this line.
    const expected = 'dev-1:$7$101$zTFSvnp5dOs6STt9$ZbD21vkz6WDydNoS+ddXh6ody7PxW/86g6iuBR4OMKIKl5wrBkK17pfqRJ8+rHOWa0gFZP9WxzYblbxpiJfFGw==';
    const line = await mosquittoPasswordLine('dev-1', 'supersecretpassword1', { salt: Buffer.from('zTFSvnp5dOs6STt9', 'base64') });
    expect(line).toBe(expected);
  });

  it('uses a fresh 12-byte salt and 101 iterations by default', async () => {
    const a = await mosquittoPasswordLine('u', 'p');
    const b = await mosquittoPasswordLine('u', 'p');
    expect(a).not.toBe(b);
    const [, , iterations, salt, hash] = a.split('$');
    expect(iterations).toBe('101');
    expect(Buffer.from(salt!, 'base64')).toHaveLength(12);
    expect(Buffer.from(hash!, 'base64')).toHaveLength(64);
  });

  it('grants a device its own four publish channels and its cmd, and the ingest read-all + write-cmd', () => {
    const acl = mosquittoAcl([
      { username: 'wm-01', password: 'x', role: 'device', type: 'water-meter' },
      { username: 'ingest', password: 'y', role: 'ingest' },
    ]);
    expect(acl).toContain(
      [
        'user wm-01',
        'topic write tsunagaru/v1/water-meter/wm-01/telemetry',
        'topic write tsunagaru/v1/water-meter/wm-01/event',
        'topic write tsunagaru/v1/water-meter/wm-01/state',
        'topic write tsunagaru/v1/water-meter/wm-01/cmd/ack',
        'topic read tsunagaru/v1/water-meter/wm-01/cmd',
        '',
        'user ingest',
        'topic read tsunagaru/v1/#',
        'topic write tsunagaru/v1/+/+/cmd',
      ].join('\n'),
    );
  });

  it('grants integration principals what issue 20 gives them on our broker, and refuses a principal without a valid scope', async () => {
    const acl = mosquittoAcl([
      { username: 'chirpstack-app-1', password: 'x', role: 'integration', integration: { type: 'chirpstack', applicationId: 'app-1' } },
      { username: 'sparkplug-city-PS01', password: 'y', role: 'integration', integration: { type: 'sparkplug', groupId: 'city', edgeNodeId: 'PS01' } },
    ]);
    expect(acl).toContain(['user chirpstack-app-1', 'topic write application/app-1/device/+/event/+', 'topic read application/app-1/device/+/command/down'].join('\n'));
    expect(acl).toContain(
      [
        'user sparkplug-city-PS01',
        'topic write spBv1.0/city/NBIRTH/PS01',
        'topic write spBv1.0/city/NDEATH/PS01',
        'topic write spBv1.0/city/NDATA/PS01',
        'topic write spBv1.0/city/DBIRTH/PS01/+',
        'topic write spBv1.0/city/DDEATH/PS01/+',
        'topic write spBv1.0/city/DDATA/PS01/+',
        'topic read spBv1.0/city/NCMD/PS01',
        'topic read spBv1.0/city/DCMD/PS01/+',
        'topic read spBv1.0/STATE/+',
      ].join('\n'),
    );
    const dir = await mkdtemp(join(tmpdir(), 'mosq-int-'));
    try {
      await expect(writeMosquittoConfig({ dir, port: 1883, credentials: [{ username: 'chirpstack-x', password: 'x', role: 'integration', integration: { type: 'chirpstack', applicationId: 'a/b' } as never }] })).rejects.toThrow(/integration "chirpstack-x": integration\.applicationId: must be/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes the three files, the password file private, and a conf that points at them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsunagaru-mosq-'));
    try {
      const files = await writeMosquittoConfig({
        dir,
        port: 18830,
        credentials: [{ username: 'pole-01', password: 'pole-secret-000000001', role: 'device', type: 'smart-pole' }],
        runAsUser: 'mosquitto',
      });
      const conf = await readFile(files.confPath, 'utf8');
      for (const line of ['listener 18830 127.0.0.1', 'allow_anonymous false', `password_file ${files.passwordFilePath}`, `acl_file ${files.aclFilePath}`, 'message_size_limit 65536', 'persistence true', 'user mosquitto']) {
        expect(conf).toContain(line);
      }
      expect((await stat(files.passwordFilePath)).mode & 0o777).toBe(0o600);
      expect(await readFile(files.passwordFilePath, 'utf8')).toMatch(/^pole-01:\$7\$101\$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [[{ username: 'a:b', password: 'x', role: 'ingest' }], /must match/],
    [[{ username: 'd', password: 'x', role: 'device' }], /needs a valid type/],
    [[{ username: 'd', password: '', role: 'ingest' }], /password of "d" is empty/],
    [
      [
        { username: 'd', password: 'x', role: 'ingest' },
        { username: 'd', password: 'y', role: 'ingest' },
      ],
      /appears twice/,
    ],
  ])('rejects bad credentials %#', async (credentials, message) => {
    await expect(writeMosquittoConfig({ dir: join(tmpdir(), 'never-written'), port: 1883, credentials: credentials as never })).rejects.toThrow(message);
  });

  it('dynamic security: subscribe rights are explicit, only the ingest may take $share/…/tsunagaru/v1/#', async () => {
    const json = (await mosquittoDynamicSecurity([
      { username: 'wm-01', password: 'device-secret', role: 'device', type: 'water-meter' },
      { username: 'ingest', password: 'ingest-secret', role: 'ingest' },
    ])) as { defaultACLAccess: object; clients: Array<Record<string, any>>; roles: Array<{ rolename: string; acls: Array<{ acltype: string; topic: string }> }> };
    // Anything not granted is refused, SUBSCRIBE included (mosquitto's acl_file cannot refuse a SUBSCRIBE).
    expect(json.defaultACLAccess).toEqual({ publishClientSend: false, publishClientReceive: false, subscribe: false, unsubscribe: true });
    const rights = (name: string) => json.roles.find((r) => r.rolename === `tsunagaru-${name}`)!.acls.map((a) => `${a.acltype} ${a.topic}`);
    expect(rights('wm-01')).toEqual([
      'publishClientSend tsunagaru/v1/water-meter/wm-01/telemetry',
      'publishClientSend tsunagaru/v1/water-meter/wm-01/event',
      'publishClientSend tsunagaru/v1/water-meter/wm-01/state',
      'publishClientSend tsunagaru/v1/water-meter/wm-01/cmd/ack',
      'subscribeLiteral tsunagaru/v1/water-meter/wm-01/cmd',
      'publishClientReceive tsunagaru/v1/water-meter/wm-01/cmd',
    ]);
    expect(rights('ingest')).toContain('subscribePattern $share/+/tsunagaru/v1/#');
    expect(rights('wm-01').some((r) => r.includes('$share'))).toBe(false);
    // The plugin checks PBKDF2-SHA512 of the password with the stored salt and iterations.
    const device = json.clients.find((c) => c.username === 'wm-01')!;
    expect(device.roles).toEqual([{ rolename: 'tsunagaru-wm-01' }]);
    const hash = pbkdf2Sync('device-secret', Buffer.from(device.salt, 'base64'), device.iterations, 64, 'sha512');
    expect(device.password).toBe(hash.toString('base64'));
  });

  it('dynamic security: the conf loads the plugin instead of password_file and acl_file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsunagaru-mosq-'));
    try {
      const files = await writeMosquittoConfig({ dir, port: 18831, authorisation: 'dynamic-security', credentials: [{ username: 'ingest', password: 'ingest-secret', role: 'ingest' }] });
      const conf = await readFile(files.confPath, 'utf8');
      expect(conf).toContain(`plugin_opt_config_file ${files.dynamicSecurityPath}`);
      expect(conf).toMatch(/^plugin \/.*mosquitto_dynamic_security\.so$/m);
      expect(conf).not.toMatch(/^(password_file|acl_file) /m);
      expect(JSON.parse(await readFile(files.dynamicSecurityPath!, 'utf8')).clients).toHaveLength(1);
      await expect(writeMosquittoConfig({ dir, port: 18831, authorisation: 'ldap' as never, credentials: [] })).rejects.toThrow(/authorisation must be/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
