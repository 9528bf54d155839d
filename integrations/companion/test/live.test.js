// The module hosted as Companion hosts it (host/host.js), against a running controller: buttons
// pressed, feedbacks and variables followed, the controller's own state checked over HTTP.
// tests/companion/test_companion.py starts `showctl run` and sets SHOWCTL_URL,
// SHOWCTL_TOKEN (director) and SHOWCTL_VIEWER_TOKEN; without them these tests are skipped.

import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, test } from 'node:test'
import { ModuleHost } from '../host/host.js'

const URL_ = process.env.SHOWCTL_URL
const TOKEN = process.env.SHOWCTL_TOKEN
const VIEWER = process.env.SHOWCTL_VIEWER_TOKEN
const skip = URL_ && TOKEN ? false : 'SHOWCTL_URL and SHOWCTL_TOKEN not set (run by tests/companion/test_companion.py)'
const WAIT = 20_000 // generous: the suite must pass on a loaded two-core machine
const ADDRESS = URL_ ? new URL(URL_) : null

async function controllerState() {
	const res = await fetch(`${URL_}/api/state`, { headers: { Authorization: `Bearer ${TOKEN}` } })
	assert.equal(res.status, 200)
	return res.json()
}

/** Polls the controller (its own answer, not the module's) until `predicate(state)`. */
async function controllerUntil(predicate, what) {
	const deadline = Date.now() + WAIT
	for (;;) {
		const state = await controllerState()
		if (predicate(state)) return state
		if (Date.now() > deadline) throw new Error(`the controller never showed ${what}`)
		await new Promise((r) => setTimeout(r, 100)) // a poll interval, not a wait for an event
	}
}

function config(port = Number(ADDRESS.port)) {
	return { host: ADDRESS.hostname, port, https: false }
}

let host
before(async () => {
	if (skip) return
	host = new ModuleHost()
	await host.start()
	await host.init(config(), { token: TOKEN })
	await host.until(() => host.status?.status === 'ok', WAIT, 'the link to come up')
})
after(async () => host?.stop())

test('variables and definitions come from the controller', { skip }, async () => {
	const state = await controllerState()
	await host.until(() => host.variables.get('on_air_id') === state.on_air.id, WAIT, 'the on-air variable')
	assert.equal(host.variables.get('on_air_title'), state.on_air.title)
	assert.equal(host.variables.get('next_title'), state.next.title)
	assert.equal(host.variables.get('show_title'), state.show.title)
	assert.match(host.variables.get('remaining'), /^-?\d+:\d\d$/)
	assert.match(host.variables.get('hard_start_countdown'), /^\d+:\d\d$/)
	assert.match(host.variables.get('show_offset'), /^[+-]?\d+:\d\d$/)
	assert.equal(host.variables.get('obs_connected'), state.obs.connected ? 'yes' : 'no')
	assert.equal(host.variables.get('connected'), 'yes')
	// the dropdowns hold the rundown's segments
	const take = host.definitions.actions.find((a) => a.id === 'take_segment')
	assert.deepEqual(take.options[0].choices.map((c) => c.id), state.segments.map((s) => s.id))
	assert.ok(host.definitions.presets.some((p) => p.id === 'take'), 'the presets include Take')
	// `remaining` counts down as the controller's pushes arrive
	const first = host.variables.get('remaining')
	await host.until(() => host.variables.get('remaining') !== first, WAIT, 'remaining to change')
})

test('take moves the tally; hold and +30 s reach the controller', { skip }, async () => {
	const before = await controllerState()
	const [onAir, next] = [before.on_air.id, before.next.id]
	const tallyOld = await host.addFeedback('on_air', { segment: onAir })
	const tallyNew = await host.addFeedback('on_air', { segment: next })
	const isNext = await host.addFeedback('next', { segment: next })
	const held = await host.addFeedback('held')
	await host.until(() => host.feedbacks.get(tallyOld) === true && host.feedbacks.get(isNext) === true, WAIT, 'the tally')
	assert.equal(host.feedbacks.get(tallyNew), false)
	await controllerUntil((s) => Date.now() - s.on_air.since_ms > 600, 'past the minimum time between takes')

	await host.press('take')
	await host.until(() => host.feedbacks.get(tallyNew) === true && host.feedbacks.get(tallyOld) === false, WAIT, 'the tally to move')
	assert.equal(host.variables.get('on_air_id'), next)
	assert.equal((await controllerState()).on_air.id, next)

	await host.press('hold', { mode: 'toggle' })
	await host.until(() => host.feedbacks.get(held) === true, WAIT, 'the hold feedback')
	assert.equal((await controllerState()).show.held, true)
	await host.press('hold', { mode: 'toggle' })
	await host.until(() => host.feedbacks.get(held) === false, WAIT, 'the hold to lift')

	const left = (await controllerState()).on_air.planned_end_ms
	await host.press('extend', { seconds: 30 })
	const after = await controllerUntil((s) => s.on_air.planned_end_ms > left, 'a later planned end')
	assert.ok(Math.abs(after.on_air.planned_end_ms - left - 30_000) < 2000, `+30 s moved the end by ${after.on_air.planned_end_ms - left} ms`)
})

test('set next and take a segment by id', { skip }, async () => {
	const state = await controllerState()
	const last = state.segments.at(-1).id
	const isNext = await host.addFeedback('next', { segment: last })
	await host.press('set_next', { segment: last })
	await host.until(() => host.feedbacks.get(isNext) === true, WAIT, `${last} to be next`)
	assert.equal((await controllerState()).next.id, last)
	await host.press('clear_next')
	await host.until(() => host.feedbacks.get(isNext) === false, WAIT, 'next back to the running order')
	const target = state.segments.find((s) => s.id !== state.on_air.id && s.id !== last).id
	await controllerUntil((s) => Date.now() - s.on_air.since_ms > 600, 'past the minimum time between takes')
	await host.press('take_segment', { segment: target })
	await host.until(() => host.variables.get('on_air_id') === target, WAIT, `${target} on air`)
})

test('hard start, OBS and guest feedbacks follow the model', { skip }, async () => {
	const state = await controllerState()
	const countdown = state.hard_starts[0].countdown_s
	const near = await host.addFeedback('hard_start_within', { seconds: Math.ceil(countdown) + 600 })
	const far = await host.addFeedback('hard_start_within', { seconds: 1 })
	const obs = await host.addFeedback('obs_connected')
	// each feedback's first value arrives in its own message: wait for all three
	const known = (...ids) => ids.every((id) => host.feedbacks.has(id))
	await host.until(() => known(near, far, obs) && host.feedbacks.get(near) === true, WAIT, 'the hard start feedback')
	assert.equal(host.feedbacks.get(far), false)
	assert.equal(host.feedbacks.get(obs), state.obs.connected)
	const guest = state.guests[0]
	const same = await host.addFeedback('guest_state', { guest: guest.id, state: guest.status })
	const other = await host.addFeedback('guest_state', { guest: guest.id, state: guest.status === 'on-air' ? 'ready' : 'on-air' })
	await host.until(() => known(same, other) && host.feedbacks.get(same) === true, WAIT, 'the guest state feedback')
	assert.equal(host.feedbacks.get(other), false)
})

test('arm toggles the hard starts', { skip }, async () => {
	const armed = (await controllerState()).show.armed
	const lit = await host.addFeedback('armed')
	await host.press('arm', { mode: 'toggle' })
	await host.until(() => host.feedbacks.get(lit) === !armed, WAIT, 'the armed feedback')
	assert.equal((await controllerState()).show.armed, !armed)
	await host.press('arm', { mode: 'toggle' })
	await controllerUntil((s) => s.show.armed === armed, 'the hard starts back as they were')
})

test('a viewer token shows the tally but its presses are refused', { skip: skip || !VIEWER }, async () => {
	const viewer = new ModuleHost({ connectionId: 'showctl-viewer' })
	await viewer.start()
	try {
		await viewer.init(config(), { token: VIEWER })
		const state = await controllerState()
		await viewer.until(() => viewer.variables.get('on_air_id') === state.on_air.id, WAIT, 'the viewer\'s variables')
		const result = await viewer.press('hold', { mode: 'on' })
		assert.equal(result.success, false)
		assert.match(result.errorMessage, /403/)
		assert.equal((await controllerState()).show.held, false)
	} finally {
		await viewer.stop()
	}
})

test('a wrong token is an authentication failure, not a crash', { skip }, async () => {
	const wrong = new ModuleHost({ connectionId: 'showctl-wrong' })
	await wrong.start()
	try {
		await wrong.init(config(), { token: 'x'.repeat(32) })
		await wrong.until(() => wrong.status?.status === 'authentication_failure', WAIT, 'the authentication failure')
		assert.equal(wrong.variables.get('connected'), 'no')
	} finally {
		await wrong.stop()
	}
})

test('a dropped link reconnects and the state comes back', { skip }, async () => {
	// a TCP relay in front of the controller, so the test can cut every connection at once
	const sockets = new Set()
	const relay = net.createServer((client) => {
		const upstream = net.connect(Number(ADDRESS.port), ADDRESS.hostname)
		for (const s of [client, upstream]) {
			sockets.add(s)
			s.on('close', () => sockets.delete(s))
			s.on('error', () => s.destroy())
		}
		client.pipe(upstream).pipe(client)
	})
	await new Promise((resolve) => relay.listen(0, '127.0.0.1', resolve))
	const relayed = new ModuleHost({ connectionId: 'showctl-relayed' })
	await relayed.start()
	try {
		await relayed.init(config(relay.address().port), { token: TOKEN })
		await relayed.until(() => relayed.status?.status === 'ok', WAIT, 'the relayed link')
		for (const s of sockets) s.destroy()
		await relayed.until(() => relayed.status?.status !== 'ok' && relayed.variables.get('connected') === 'no', WAIT, 'the drop to be seen')
		await relayed.until(() => relayed.status?.status === 'ok' && relayed.variables.get('connected') === 'yes', WAIT, 'the reconnect')
		assert.equal(relayed.variables.get('on_air_id'), (await controllerState()).on_air.id)
	} finally {
		await relayed.stop()
		relay.close()
	}
})

// last: panic leaves the show on the safe scene
test('panic needs two presses within 3 s', { skip }, async () => {
	const armedFb = await host.addFeedback('panic_armed')
	const panicFb = await host.addFeedback('panic')
	await host.press('panic')
	await host.until(() => host.feedbacks.get(armedFb) === true, WAIT, 'panic to arm')
	assert.equal(host.variables.get('panic_armed'), 'yes')
	assert.equal((await controllerState()).show.panic, false, 'one press must not fire panic')
	await host.press('panic_cancel')
	await host.until(() => host.feedbacks.get(armedFb) === false, WAIT, 'the cancel')
	await host.press('panic')
	assert.equal((await controllerState()).show.panic, false, 'a press after a cancel only arms again')
	await host.press('panic')
	await host.until(() => host.feedbacks.get(panicFb) === true, WAIT, 'the panic feedback')
	assert.equal(host.feedbacks.get(armedFb), false)
	assert.equal((await controllerState()).show.panic, true)
})
