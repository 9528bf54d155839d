// The module's variables ($(showctl:remaining) and so on); values come from model.js.

export const VARIABLES = [
	{ variableId: 'connected', name: 'Linked to the controller (yes/no)' },
	{ variableId: 'show_title', name: 'Show title' },
	{ variableId: 'on_air_id', name: 'On air: segment id' },
	{ variableId: 'on_air_title', name: 'On air: title' },
	{ variableId: 'remaining', name: 'On air: time left (m:ss, negative when over)' },
	{ variableId: 'next_id', name: 'Next: segment id' },
	{ variableId: 'next_title', name: 'Next: title' },
	{ variableId: 'hard_start_id', name: 'Next hard start: segment id' },
	{ variableId: 'hard_start_countdown', name: 'Next hard start: countdown (m:ss)' },
	{ variableId: 'show_offset', name: 'Show offset (+ late, - early)' },
	{ variableId: 'obs_connected', name: 'OBS connected (yes/no)' },
	{ variableId: 'held', name: 'Segment held (yes/no)' },
	{ variableId: 'armed', name: 'Hard starts armed (yes/no)' },
	{ variableId: 'panic_armed', name: 'Panic armed: press again (yes/no)' },
]
