// The module's link to the controller: its state websocket (`/api/ws`) for what the buttons
// show, its HTTP API for what they do (docs/api.md). Both carry the token as a bearer header
// (Node can set headers on a websocket, so the token never goes into a URL and its logs).

import WebSocket from 'ws'

export const BACKOFF_FIRST_MS = 500
export const BACKOFF_MAX_MS = 10_000
// the controller pushes at least once a second: this long without a message is a dead link
export const SILENCE_MS = 5000
const REQUEST_TIMEOUT_MS = 5000

/** The wait before reconnect attempt `attempt` (0-based): 0.5 s doubling up to 10 s. */
export function backoffMs(attempt) {
	return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 20))
}

/** The controller's base URLs from the module's config. */
export function endpoints(config) {
	const secure = Boolean(config.https)
	const host = String(config.host ?? '').trim()
	const authority = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
	const port = Number(config.port)
	return {
		http: `${secure ? 'https' : 'http'}://${authority}:${port}`,
		ws: `${secure ? 'wss' : 'ws'}://${authority}:${port}/api/ws`,
	}
}

/** An HTTP answer the controller refused: `status` and its JSON `error`/`reason`. */
export class CommandError extends Error {
	constructor(status, body) {
		super(`${status} ${body?.error ?? 'error'}: ${body?.reason ?? ''}`.trim())
		this.status = status
		this.body = body
	}
}

/**
 * One reconnecting websocket and the HTTP calls. Callbacks: onState(model) on every pushed
 * read model, onLink(status, message) when the link changes (status: an InstanceStatus
 * value), onLog(level, text).
 */
export class ControllerLink {
	#socket = null
	#timer = null
	#silence = null
	#attempt = 0
	#closed = false
	#halted = false // refused for the token: no retries until the config changes
	#retryAfterMs = 0

	constructor(config, { onState, onLink, onLog }) {
		this.urls = endpoints(config)
		this.token = String(config.token ?? '')
		this.onState = onState
		this.onLink = onLink
		this.onLog = onLog
		this.up = false
	}

	start() {
		this.#closed = false
		this.#connect()
	}

	stop() {
		this.#closed = true
		clearTimeout(this.#timer)
		clearTimeout(this.#silence)
		this.#socket?.terminate()
		this.#socket = null
		this.up = false
	}

	#connect() {
		this.onLink('connecting', this.urls.ws)
		const socket = new WebSocket(this.urls.ws, {
			headers: { Authorization: `Bearer ${this.token}` },
			handshakeTimeout: REQUEST_TIMEOUT_MS,
			maxPayload: 16 * 1024 * 1024,
		})
		this.#socket = socket
		socket.on('open', () => this.#heard())
		socket.on('message', (data) => this.#message(data))
		socket.on('unexpected-response', (_req, res) => this.#refused(res))
		socket.on('error', (err) => this.onLog('debug', `websocket: ${err.message}`))
		socket.on('close', () => this.#lost(socket))
	}

	#message(data) {
		this.#heard()
		let msg
		try {
			msg = JSON.parse(data.toString())
		} catch {
			this.onLog('warn', 'the controller sent something that is not JSON')
			return
		}
		if (msg?.type !== 'state' || typeof msg.state !== 'object') return
		if (!this.up) {
			this.up = true
			this.#attempt = 0
			this.onLink('ok', null)
		}
		this.onState(msg.state)
	}

	#heard() {
		clearTimeout(this.#silence)
		const socket = this.#socket
		this.#silence = setTimeout(() => {
			this.onLog('warn', `no word from the controller for ${SILENCE_MS / 1000} s: reconnecting`)
			socket?.terminate()
		}, SILENCE_MS)
	}

	#refused(res) {
		const status = res.statusCode
		res.resume()
		if (status === 401 || status === 403) {
			// a wrong token does not fix itself, and each retry counts against this address in
			// the controller's throttle (it would lock out every tool here): wait for a new config
			this.#halted = true
			this.onLink('authentication_failure', `the controller answered ${status}: ${status === 401 ? 'wrong token' : 'forbidden'}; fix the token in the config`)
		} else {
			const retry = Number(res.headers['retry-after'])
			if (Number.isFinite(retry) && retry > 0) this.#retryAfterMs = retry * 1000
			this.onLink('connection_failure', `the controller answered ${status}`)
		}
		this.#socket?.terminate()
	}

	#lost(socket) {
		if (socket !== this.#socket) return
		clearTimeout(this.#silence)
		const wasUp = this.up
		this.up = false
		this.#socket = null
		if (this.#closed || this.#halted) return
		if (wasUp) this.onLink('disconnected', 'the link to the controller dropped: reconnecting')
		const wait = Math.max(backoffMs(this.#attempt++), this.#retryAfterMs)
		this.#retryAfterMs = 0
		this.#timer = setTimeout(() => this.#connect(), wait)
	}

	/** POST (or DELETE) an API route; resolves to the answer's JSON, throws CommandError. */
	async command(method, path, body) {
		const headers = { Authorization: `Bearer ${this.token}` }
		if (body !== undefined) headers['Content-Type'] = 'application/json'
		const res = await fetch(this.urls.http + path, {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
		})
		const answer = await res.json().catch(() => ({}))
		if (!res.ok) throw new CommandError(res.status, answer)
		return answer
	}
}
