// What the buttons show, as pure functions of the controller's read model (docs/api.md, "The
// read model"): no I/O and no clock here, so the tests can check them with any model.

/** Seconds as [-]m:ss (or h:mm:ss past an hour); '' when unknown. */
export function clock(seconds) {
	if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return ''
	const negative = seconds < 0
	// whole seconds towards zero's far side, as a countdown shows them: 0.2 s left is 0:01
	const whole = negative ? Math.floor(-seconds) : Math.ceil(seconds)
	const h = Math.floor(whole / 3600)
	const m = Math.floor((whole % 3600) / 60)
	const s = String(whole % 60).padStart(2, '0')
	const body = h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
	return negative && whole > 0 ? `-${body}` : body
}

/** An offset with its sign: +1:20 (late), -0:30 (early), 0:00; '' when unknown. */
export function signedClock(seconds) {
	const text = clock(seconds)
	if (text === '' || text.startsWith('-') || text === '0:00') return text
	return `+${text}`
}

/** The next hard start the show has to meet (the first of `hard_starts`), or null. */
export function nextHardStart(model) {
	return model?.hard_starts?.[0] ?? null
}

/** Segment ids and titles, for the dropdowns. */
export function segmentChoices(model) {
	return (model?.segments ?? []).map((s) => ({ id: s.id, label: `${s.id}: ${s.title}` }))
}

/** Guest ids and names, for the dropdowns. */
export function guestChoices(model) {
	return (model?.guests ?? []).map((g) => ({ id: g.id, label: `${g.id}: ${g.name}` }))
}

// the guest statuses of the read model (control/show/readmodel.py GuestView.status)
export const GUEST_STATES = ['invited', 'connecting', 'green-room', 'ready', 'on-air', 'disconnected']

/**
 * The module's variables from a model (null: not connected). Every value a string, so a
 * button text shows '' rather than 'undefined' for what is not known.
 */
export function variableValues(model, linkUp) {
	const onAir = model?.on_air ?? null
	const next = model?.next ?? null
	const hard = nextHardStart(model)
	return {
		connected: linkUp ? 'yes' : 'no',
		show_title: model?.show?.title ?? '',
		on_air_id: onAir?.id ?? '',
		on_air_title: onAir?.title ?? '',
		remaining: clock(onAir?.remaining_s),
		next_id: next?.id ?? '',
		next_title: next?.title ?? '',
		hard_start_id: hard?.id ?? '',
		hard_start_countdown: clock(hard?.countdown_s),
		show_offset: signedClock(model?.show?.offset_s),
		obs_connected: model?.obs?.connected ? 'yes' : 'no',
		held: model?.show?.held ? 'yes' : 'no',
		armed: model?.show?.armed ? 'yes' : 'no',
	}
}

/** The boolean feedbacks, each `(model, options) => boolean`; false while nothing is known. */
export const FEEDBACK_TESTS = {
	on_air: (model, o) => model?.on_air?.id === o.segment,
	next: (model, o) => model?.next?.id === o.segment,
	obs_connected: (model) => model?.obs?.connected === true,
	hard_start_within: (model, o) => {
		const countdown = nextHardStart(model)?.countdown_s
		return typeof countdown === 'number' && countdown >= 0 && countdown <= Number(o.seconds)
	},
	guest_state: (model, o) => (model?.guests ?? []).some((g) => g.id === o.guest && g.status === o.state),
	held: (model) => model?.show?.held === true,
	panic: (model) => model?.show?.panic === true,
	armed: (model) => model?.show?.armed === true,
}
