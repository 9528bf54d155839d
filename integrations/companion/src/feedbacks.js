// Tally and warnings on the buttons: boolean feedbacks with default colours, each a test
// from model.js on the last read model the controller pushed.

import { combineRgb } from '@companion-module/base'
import { FEEDBACK_TESTS, GUEST_STATES } from './model.js'

const WHITE = combineRgb(255, 255, 255)
const BLACK = combineRgb(0, 0, 0)
export const RED = combineRgb(200, 0, 0)
export const GREEN = combineRgb(0, 150, 0)
export const AMBER = combineRgb(230, 140, 0)
export const BLUE = combineRgb(0, 70, 180)

function segmentOption(choices) {
	return { type: 'dropdown', id: 'segment', label: 'Segment', choices, default: choices[0]?.id ?? '', allowCustom: true }
}

function boolean(self, id, name, style, options = []) {
	return {
		type: 'boolean',
		name,
		defaultStyle: style,
		options,
		callback: (fb) => FEEDBACK_TESTS[id](self.model, fb.options),
	}
}

/** The feedback definitions, with the rundown's segments and guests in the dropdowns. */
export function feedbackDefinitions(self, segments, guests) {
	const states = GUEST_STATES.map((s) => ({ id: s, label: s }))
	return {
		on_air: boolean(self, 'on_air', 'Segment on air (tally)', { bgcolor: RED, color: WHITE }, [segmentOption(segments)]),
		next: boolean(self, 'next', 'Segment is next', { bgcolor: GREEN, color: WHITE }, [segmentOption(segments)]),
		obs_connected: boolean(self, 'obs_connected', 'OBS is connected', { bgcolor: GREEN, color: WHITE }),
		hard_start_within: boolean(self, 'hard_start_within', 'Next hard start within N seconds', { bgcolor: AMBER, color: BLACK }, [
			{ type: 'number', id: 'seconds', label: 'Seconds', default: 60, min: 0, max: 86400 },
		]),
		guest_state: boolean(self, 'guest_state', 'Guest is in a state', { bgcolor: BLUE, color: WHITE }, [
			{ type: 'dropdown', id: 'guest', label: 'Guest', choices: guests, default: guests[0]?.id ?? '', allowCustom: true },
			{ type: 'dropdown', id: 'state', label: 'State', choices: states, default: 'ready' },
		]),
		held: boolean(self, 'held', 'Segment on air is held', { bgcolor: AMBER, color: BLACK }),
		armed: boolean(self, 'armed', 'Hard starts armed', { bgcolor: GREEN, color: WHITE }),
		panic: boolean(self, 'panic', 'Show in panic (safe scene)', { bgcolor: RED, color: WHITE }),
		panic_armed: {
			type: 'boolean',
			name: 'Panic armed: the next press fires',
			defaultStyle: { bgcolor: AMBER, color: BLACK },
			options: [],
			callback: () => self.panicArmed(),
		},
		connected: {
			type: 'boolean',
			name: 'Linked to the controller',
			defaultStyle: { bgcolor: GREEN, color: WHITE },
			options: [],
			callback: () => self.link?.up === true,
		},
	}
}
