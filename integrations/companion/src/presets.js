// Ready-made buttons (Companion's "Presets" tab): the page in the README, "Companion".

import { combineRgb } from '@companion-module/base'
import { AMBER, GREEN, RED } from './feedbacks.js'

const WHITE = combineRgb(255, 255, 255)
const GREY = combineRgb(40, 40, 40)
const BLACK = combineRgb(0, 0, 0)

function button(category, name, text, down, feedbacks = [], bgcolor = GREY) {
	return {
		type: 'button',
		category,
		name,
		style: { text, size: 'auto', color: WHITE, bgcolor },
		feedbacks,
		steps: [{ down, up: [] }],
	}
}

const act = (actionId, options = {}) => ({ actionId, options })
const fb = (feedbackId, options = {}, style = undefined) => ({ feedbackId, options, ...(style ? { style } : {}) })

/** The presets, with one tally button per segment of the rundown. */
export function presetDefinitions(segments) {
	const presets = {
		take: button('Show', 'Take next', 'TAKE\\n$(showctl:next_title)', [act('take')], [fb('obs_connected', {}, { bgcolor: GREEN })]),
		hold: button('Show', 'Hold', 'HOLD\\n$(showctl:remaining)', [act('hold', { mode: 'toggle' })], [fb('held')]),
		extend: button('Show', '+30 s', '+30 s', [act('extend', { seconds: 30 })]),
		panic: button('Show', 'Panic (press twice)', 'PANIC\\n2×', [act('panic')], [fb('panic_armed'), fb('panic')], combineRgb(90, 0, 0)),
		arm: button('Show', 'Arm hard starts', 'ARM\\nhard starts', [act('arm', { mode: 'toggle' })], [fb('armed')]),
		on_air: button('Times', 'On air and time left', '$(showctl:on_air_title)\\n$(showctl:remaining)', [], [], RED),
		hard_start: button('Times', 'Next hard start', 'HARD\\n$(showctl:hard_start_countdown)', [],
			[fb('hard_start_within', { seconds: 60 }, { bgcolor: AMBER, color: BLACK })]),
		offset: button('Times', 'Show offset', 'OFFSET\\n$(showctl:show_offset)', []),
		obs: button('Times', 'OBS link', 'OBS\\n$(showctl:obs_connected)', [], [fb('obs_connected')], RED),
	}
	for (const { id } of segments) {
		presets[`segment_${id}`] = button('Segments', `Take ${id}`, id, [act('take_segment', { segment: id })],
			[fb('on_air', { segment: id }), fb('next', { segment: id })])
		presets[`next_${id}`] = button('Segments', `Set ${id} next`, `NEXT\\n${id}`, [act('set_next', { segment: id })],
			[fb('next', { segment: id })])
	}
	return presets
}
