// The module's pure parts: formatting, feedback tests, the two-press panic, the backoff, the
// manifest (checked with the base library's own validator, as Companion checks it).

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { backoffMs, BACKOFF_MAX_MS, endpoints } from '../src/link.js'
import { clock, FEEDBACK_TESTS, signedClock, variableValues } from '../src/model.js'
import { PanicGuard, PanicPress, PANIC_WINDOW_MS } from '../src/panic.js'
import { MANIFEST, ModuleHost } from '../host/host.js'

const require = createRequire(import.meta.url)
const { validateManifest } = require('@companion-module/base')

test('clock shows a countdown as m:ss, over time with a minus, hours when needed', () => {
	assert.equal(clock(0), '0:00')
	assert.equal(clock(0.2), '0:01')
	assert.equal(clock(65), '1:05')
	assert.equal(clock(-65.5), '-1:05')
	assert.equal(clock(3725), '1:02:05')
	assert.equal(clock(null), '')
	assert.equal(signedClock(80), '+1:20')
	assert.equal(signedClock(-30), '-0:30')
	assert.equal(signedClock(0), '0:00')
})

test('variables are empty strings while nothing is known', () => {
	const values = variableValues(null, false)
	assert.equal(values.connected, 'no')
	assert.equal(values.on_air_title, '')
	assert.equal(values.remaining, '')
	assert.equal(values.obs_connected, 'no')
})

test('feedback tests read the model', () => {
	const model = {
		on_air: { id: 'intro' }, next: { id: 'talk' }, obs: { connected: true },
		hard_starts: [{ id: 'countdown', countdown_s: 42 }], guests: [{ id: 'ada', status: 'ready' }],
		show: { held: false, panic: false, armed: true },
	}
	assert.equal(FEEDBACK_TESTS.on_air(model, { segment: 'intro' }), true)
	assert.equal(FEEDBACK_TESTS.on_air(model, { segment: 'talk' }), false)
	assert.equal(FEEDBACK_TESTS.next(model, { segment: 'talk' }), true)
	assert.equal(FEEDBACK_TESTS.hard_start_within(model, { seconds: 60 }), true)
	assert.equal(FEEDBACK_TESTS.hard_start_within(model, { seconds: 30 }), false)
	assert.equal(FEEDBACK_TESTS.guest_state(model, { guest: 'ada', state: 'ready' }), true)
	assert.equal(FEEDBACK_TESTS.guest_state(model, { guest: 'ada', state: 'on-air' }), false)
	assert.equal(FEEDBACK_TESTS.on_air(null, { segment: 'intro' }), false)
})

test('panic fires only on a second press within the window', () => {
	const guard = new PanicGuard()
	assert.equal(guard.press(1000), PanicPress.ARMED)
	assert.equal(guard.isArmed(1000 + PANIC_WINDOW_MS - 1), true)
	assert.equal(guard.press(1000 + PANIC_WINDOW_MS), PanicPress.ARMED) // lapsed: arms again
	assert.equal(guard.press(1000 + PANIC_WINDOW_MS + 500), PanicPress.FIRE)
	assert.equal(guard.isArmed(1000 + PANIC_WINDOW_MS + 600), false) // fired: disarmed
	guard.press(10_000)
	guard.cancel()
	assert.equal(guard.press(10_100), PanicPress.ARMED)
})

test('reconnects back off from 0.5 s doubling to a ceiling', () => {
	assert.deepEqual([0, 1, 2, 3].map(backoffMs), [500, 1000, 2000, 4000])
	assert.equal(backoffMs(50), BACKOFF_MAX_MS)
})

test('endpoints follow the https toggle and bracket IPv6 addresses', () => {
	assert.deepEqual(endpoints({ host: '127.0.0.1', port: 8080, https: false }), {
		http: 'http://127.0.0.1:8080', ws: 'ws://127.0.0.1:8080/api/ws',
	})
	assert.equal(endpoints({ host: '::1', port: 8443, https: true }).ws, 'wss://[::1]:8443/api/ws')
})

test('the manifest passes the base library validator', () => {
	const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'))
	assert.doesNotThrow(() => validateManifest(manifest, false))
})

test('hosted without a controller: config fields, bad config, upgrades, an unreachable port', async () => {
	const host = new ModuleHost({ connectionId: 'showctl-unit' })
	await host.start()
	try {
		assert.match(host.apiVersion, /^1\.14\./)
		await host.init({ host: '127.0.0.1', port: 9, https: false }, { token: 'short' })
		await host.until(() => host.status?.status === 'bad_config', 10_000, 'bad_config')
		assert.match(host.status.message, /24 characters/)
		const { fields } = await host.configFields()
		assert.equal(fields.find((f) => f.id === 'token').type, 'secret-text')
		assert.ok(host.definitions.actions.some((a) => a.id === 'panic'))
		assert.equal(host.variables.get('connected'), 'no')
		const saved = { id: 'a1', controlId: 'bank:1', actionId: 'take', options: {}, upgradeIndex: null, disabled: false }
		const upgraded = await host.upgrade([saved], [])
		assert.deepEqual(upgraded.updatedActions, []) // no scripts yet: nothing to change
		// a port where nothing listens: the link keeps trying, the module stays up
		const closed = net.createServer()
		await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve))
		const port = closed.address().port
		await new Promise((resolve) => closed.close(resolve))
		await host.configure({ host: '127.0.0.1', port, https: false }, { token: 'x'.repeat(24) })
		await host.until(() => host.status?.status === 'connecting', 10_000, 'connecting')
		const press = await host.press('take')
		assert.equal(press.success, false)
		assert.match(press.errorMessage, /fetch failed|ECONNREFUSED/)
	} finally {
		await host.stop()
	}
})
