// Panic takes two presses, as on the director's console (control/web/static/controls.js): a
// button panel is pressed by elbows and sleeves too. A sans-I/O state machine: the caller
// hands in the clock, so tests need no waiting.

export const PANIC_WINDOW_MS = 3000

/** What a press did. */
export const PanicPress = Object.freeze({ ARMED: 'armed', FIRE: 'fire' })

export class PanicGuard {
	#armedUntil = null

	constructor(windowMs = PANIC_WINDOW_MS) {
		this.windowMs = windowMs
	}

	/** A press at `nowMs`: the first arms, a second within the window fires (and disarms). */
	press(nowMs) {
		if (this.isArmed(nowMs)) {
			this.#armedUntil = null
			return PanicPress.FIRE
		}
		this.#armedUntil = nowMs + this.windowMs
		return PanicPress.ARMED
	}

	isArmed(nowMs) {
		return this.#armedUntil !== null && nowMs < this.#armedUntil
	}

	/** Milliseconds until an armed guard lapses (0 when not armed). */
	leftMs(nowMs) {
		return this.isArmed(nowMs) ? this.#armedUntil - nowMs : 0
	}

	cancel() {
		this.#armedUntil = null
	}
}
