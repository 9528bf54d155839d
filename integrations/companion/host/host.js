// A small Companion for the tests: it starts the module as Companion does (a child process
// with an IPC channel, MODULE_MANIFEST, CONNECTION_ID and VERIFICATION_TOKEN in its
// environment) and speaks the host side of the host API (`@companion-module/base`'s
// IpcWrapper and the messages of host-api/api.d.ts): register, init, updateFeedbacks,
// executeAction, destroy; it records what the module sends back (definitions, variable
// values, feedback values, status, log) and lets a test wait for a condition on them.

import { fork } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const { IpcWrapper } = require('@companion-module/base/dist/host-api/ipc-wrapper.js')

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const MANIFEST = `${ROOT}companion/manifest.json`
const MAIN = `${ROOT}src/main.js`
const VERIFICATION = 'host-test-verification'

export class ModuleHost extends EventEmitter {
	variables = new Map() // variable id -> value
	feedbacks = new Map() // feedback instance id -> value
	definitions = { actions: [], feedbacks: [], variables: [], presets: [] }
	status = null // { status, message }
	logs = []
	#wrapper
	#child
	#registered
	#nextId = 1

	constructor({ connectionId = 'showctl-test' } = {}) {
		super()
		this.connectionId = connectionId
	}

	/** Start the module process and wait for it to register, as Companion does. */
	async start() {
		let register
		this.#registered = new Promise((resolve, reject) => (register = { resolve, reject }))
		this.#child = fork(MAIN, [], {
			cwd: ROOT,
			env: { ...process.env, MODULE_MANIFEST: MANIFEST, CONNECTION_ID: this.connectionId, VERIFICATION_TOKEN: VERIFICATION },
			stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
		})
		this.#child.stdout.on('data', (d) => this.logs.push({ level: 'stdout', message: String(d) }))
		this.#child.stderr.on('data', (d) => this.logs.push({ level: 'stderr', message: String(d) }))
		this.#child.once('exit', (code) => register.reject(new Error(`module exited (${code}): ${this.logText()}`)))
		this.#wrapper = new IpcWrapper(this.#handlers(register), (msg) => this.#child.send(msg), 5000)
		this.#child.on('message', (msg) => this.#wrapper.receivedMessage(msg))
		await this.#registered
	}

	#handlers(register) {
		const record = (fn) => async (msg) => {
			const answer = fn(msg)
			this.emit('change')
			return answer
		}
		return {
			register: record((msg) => {
				if (msg.verificationToken !== VERIFICATION || msg.connectionId !== this.connectionId) throw new Error('bad registration')
				this.apiVersion = msg.apiVersion
				register.resolve()
			}),
			'log-message': record((msg) => this.logs.push(msg)),
			'set-status': record((msg) => (this.status = msg)),
			setActionDefinitions: record((msg) => (this.definitions.actions = msg.actions)),
			setFeedbackDefinitions: record((msg) => (this.definitions.feedbacks = msg.feedbacks)),
			setVariableDefinitions: record((msg) => {
				this.definitions.variables = msg.variables
				for (const { id, value } of msg.newValues ?? []) this.variables.set(id, value)
			}),
			setPresetDefinitions: record((msg) => (this.definitions.presets = msg.presets)),
			setVariableValues: record((msg) => {
				for (const { id, value } of msg.newValues) this.variables.set(id, value)
			}),
			updateFeedbackValues: record((msg) => {
				for (const { id, value } of msg.values) this.feedbacks.set(id, value)
			}),
			saveConfig: record((msg) => (this.saved = msg)),
			parseVariablesInString: record((msg) => ({ text: msg.text, variableIds: [] })),
			setCustomVariable: record(() => undefined),
			recordAction: record(() => undefined),
			upgradedItems: record(() => undefined),
		}
	}

	/** Companion's `init` with a saved connection's config and secrets. */
	init(config, secrets, { isFirstInit = false, lastUpgradeIndex = -1 } = {}) {
		return this.#wrapper.sendWithCb('init', {
			label: 'showctl', isFirstInit, config, secrets, lastUpgradeIndex, feedbacks: {}, actions: {},
		})
	}

	configure(config, secrets) {
		return this.#wrapper.sendWithCb('updateConfigAndLabel', { label: 'showctl', config, secrets })
	}

	configFields() {
		return this.#wrapper.sendWithCb('getConfigFields', {})
	}

	/** Saved buttons through the upgrade scripts, as Companion runs them before use. */
	upgrade(actions, feedbacks) {
		return this.#wrapper.sendWithCb('upgradeActionsAndFeedbacks', { actions, feedbacks, defaultUpgradeIndex: null })
	}

	/** Put a feedback on a button; returns its instance id (its value: `this.feedbacks`). */
	async addFeedback(feedbackId, options = {}) {
		const id = `fb${this.#nextId++}`
		const feedback = { id, controlId: `bank:${id}`, feedbackId, options, disabled: false, upgradeIndex: null, isInverted: false }
		await this.#wrapper.sendWithCb('updateFeedbacks', { feedbacks: { [id]: feedback } })
		return id
	}

	async removeFeedback(id) {
		await this.#wrapper.sendWithCb('updateFeedbacks', { feedbacks: { [id]: null } })
		this.feedbacks.delete(id)
	}

	/** Press a button with one action: Companion's `executeAction`; resolves to its result. */
	press(actionId, options = {}) {
		const id = `act${this.#nextId++}`
		const action = { id, controlId: 'bank:press', actionId, options, disabled: false, upgradeIndex: null }
		return this.#wrapper.sendWithCb('executeAction', { action, surfaceId: 'test-surface' }, undefined, 15000)
	}

	/** Resolves once `predicate()` holds after something the module sent; rejects after `ms`. */
	until(predicate, ms, what) {
		return new Promise((resolve, reject) => {
			const check = () => {
				let value
				try {
					value = predicate()
				} catch {
					value = false
				}
				if (!value) return
				cleanup()
				resolve(value)
			}
			const timer = setTimeout(() => {
				cleanup()
				reject(new Error(`timed out after ${ms} ms waiting for ${what}; variables ${JSON.stringify(Object.fromEntries(this.variables))}; status ${JSON.stringify(this.status)}`))
			}, ms)
			const cleanup = () => {
				clearTimeout(timer)
				this.off('change', check)
			}
			this.on('change', check)
			check()
		})
	}

	logText() {
		return this.logs.map((l) => `${l.level}: ${l.message}`).join('\n')
	}

	/** Companion's `destroy`, then the process ends (killed if it does not within 5 s). */
	async stop() {
		const child = this.#child
		if (!child || child.exitCode !== null) return
		const exited = new Promise((resolve) => child.once('exit', resolve))
		try {
			await this.#wrapper.sendWithCb('destroy', {}, undefined, 5000)
		} catch {
			// the module could not clean up: it is killed below anyway
		}
		child.kill('SIGTERM')
		const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
		await exited
		clearTimeout(timer)
	}
}
