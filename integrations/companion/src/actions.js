// What the buttons do: each action is one call of the controller's HTTP API (docs/api.md,
// "Routes"); the controller answers with its reasons (409 refused...), which go to the log
// and fail the action in Companion.

const ON_OFF_TOGGLE = [
	{ id: 'toggle', label: 'Toggle' },
	{ id: 'on', label: 'On' },
	{ id: 'off', label: 'Off' },
]

function segmentOption(choices) {
	return { type: 'dropdown', id: 'segment', label: 'Segment', choices, default: choices[0]?.id ?? '', allowCustom: true }
}

function flag(choice, current) {
	return choice === 'toggle' ? !current : choice === 'on'
}

/** The action definitions, with the rundown's segments in the dropdowns. */
export function actionDefinitions(self, segments) {
	const expect = () => ({ expect: self.model?.on_air?.id ?? '' })
	return {
		take: {
			name: 'Take next',
			description: 'Put the next segment on air (a press that lands after another take is refused).',
			options: [],
			callback: () => self.send('POST', '/api/take', expect()),
		},
		take_segment: {
			name: 'Take a segment',
			options: [segmentOption(segments)],
			callback: (a) => self.send('POST', `/api/take/${encodeURIComponent(a.options.segment)}`, expect()),
		},
		set_next: {
			name: 'Set next',
			options: [segmentOption(segments)],
			callback: (a) => self.send('POST', `/api/next/${encodeURIComponent(a.options.segment)}`),
		},
		clear_next: {
			name: 'Clear next (back to the running order)',
			options: [],
			callback: () => self.send('DELETE', '/api/next'),
		},
		hold: {
			name: 'Hold the segment on air',
			options: [{ type: 'dropdown', id: 'mode', label: 'Hold', choices: ON_OFF_TOGGLE, default: 'toggle' }],
			callback: (a) => self.send('POST', '/api/hold', { on: flag(a.options.mode, self.model?.show?.held) }),
		},
		extend: {
			name: 'Extend the segment on air',
			options: [{ type: 'number', id: 'seconds', label: 'Seconds (negative: less)', default: 30, min: -3600, max: 3600 }],
			callback: (a) => self.send('POST', '/api/extend', { seconds: Number(a.options.seconds) }),
		},
		panic: {
			name: 'Panic (press twice within 3 s)',
			description: 'The first press arms it (feedback "Panic armed"); a second within 3 s cuts to the safe scene.',
			options: [],
			callback: () => self.pressPanic(),
		},
		panic_cancel: {
			name: 'Panic: cancel an armed press',
			options: [],
			callback: () => self.cancelPanic(),
		},
		arm: {
			name: 'Arm or disarm hard starts',
			options: [{ type: 'dropdown', id: 'mode', label: 'Armed', choices: ON_OFF_TOGGLE, default: 'toggle' }],
			callback: (a) => self.send('POST', '/api/arm', { armed: flag(a.options.mode, self.model?.show?.armed) }),
		},
	}
}
