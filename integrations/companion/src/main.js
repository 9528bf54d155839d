// The showctl module for Bitfocus Companion: one connection = one controller. State comes in
// on the controller's websocket (link.js) and is turned into variables and feedbacks
// (model.js); buttons call its HTTP API (actions.js).

import { InstanceBase, InstanceStatus, runEntrypoint } from '@companion-module/base'
import { actionDefinitions } from './actions.js'
import { configFields, configProblem } from './config.js'
import { feedbackDefinitions } from './feedbacks.js'
import { ControllerLink } from './link.js'
import { guestChoices, segmentChoices, variableValues } from './model.js'
import { PanicGuard, PanicPress } from './panic.js'
import { presetDefinitions } from './presets.js'
import { UpgradeScripts } from './upgrades.js'
import { VARIABLES } from './variables.js'

export class ShowctlInstance extends InstanceBase {
	model = null
	link = null
	#panic = new PanicGuard()
	#panicTimer = null
	#choicesKey = null
	#lastValues = {}

	async init(config, _isFirstInit, secrets) {
		this.setVariableDefinitions(VARIABLES)
		this.#define()
		this.#connect(config, secrets)
	}

	async configUpdated(config, secrets) {
		this.#connect(config, secrets)
	}

	async destroy() {
		this.link?.stop()
		this.link = null
		clearTimeout(this.#panicTimer)
	}

	getConfigFields() {
		return configFields()
	}

	#connect(config, secrets) {
		this.link?.stop()
		this.link = null
		this.model = null
		this.#publish()
		const problem = configProblem(config, secrets)
		if (problem) {
			this.updateStatus(InstanceStatus.BadConfig, problem)
			return
		}
		this.link = new ControllerLink({ ...config, token: secrets.token }, {
			onState: (model) => this.#onState(model),
			onLink: (status, message) => this.#onLink(status, message),
			onLog: (level, text) => this.log(level, text),
		})
		this.link.start()
	}

	#onLink(status, message) {
		this.updateStatus(status, message)
		if (message && status !== 'connecting') this.log(status === 'ok' ? 'info' : 'warn', message)
		if (status !== 'ok' && status !== 'connecting') {
			this.model = null
			this.#publish()
		}
	}

	#onState(model) {
		// a command's answer can arrive after a newer push: keep the newer model
		if ((model?.show?.now_ms ?? 0) < (this.model?.show?.now_ms ?? 0)) return
		this.model = model
		this.#define()
		this.#publish()
	}

	/** Actions, feedbacks and presets again when the rundown's segments or guests change. */
	#define() {
		const segments = segmentChoices(this.model)
		const guests = guestChoices(this.model)
		const key = JSON.stringify([segments, guests])
		if (key === this.#choicesKey) return
		this.#choicesKey = key
		this.setActionDefinitions(actionDefinitions(this, segments))
		this.setFeedbackDefinitions(feedbackDefinitions(this, segments, guests))
		this.setPresetDefinitions(presetDefinitions(segments))
	}

	/** Variables that changed, and every feedback (each is a cheap test on the model). */
	#publish() {
		const values = {
			...variableValues(this.model, this.link?.up === true),
			panic_armed: this.panicArmed() ? 'yes' : 'no',
		}
		const changed = Object.fromEntries(Object.entries(values).filter(([k, v]) => this.#lastValues[k] !== v))
		this.#lastValues = values
		if (Object.keys(changed).length) this.setVariableValues(changed)
		this.checkFeedbacks()
	}

	/** One API call; a refusal is logged and rethrown, so Companion marks the press failed. */
	async send(method, path, body) {
		if (!this.link) throw new Error('not configured')
		try {
			const answer = await this.link.command(method, path, body)
			if (answer?.state) this.#onState(answer.state)
			return answer
		} catch (err) {
			this.log('warn', `${method} ${path}: ${err.message}`)
			throw err
		}
	}

	async pressPanic() {
		const now = Date.now()
		const press = this.#panic.press(now)
		clearTimeout(this.#panicTimer)
		if (press === PanicPress.ARMED) {
			this.log('info', 'panic armed: press again within 3 s to cut to the safe scene')
			this.#panicTimer = setTimeout(() => this.#publish(), this.#panic.leftMs(now) + 10)
			this.#publish()
			return
		}
		this.#publish()
		await this.send('POST', '/api/panic')
	}

	cancelPanic() {
		this.#panic.cancel()
		clearTimeout(this.#panicTimer)
		this.#publish()
	}

	panicArmed() {
		return this.#panic.isArmed(Date.now())
	}
}

runEntrypoint(ShowctlInstance, UpgradeScripts)
