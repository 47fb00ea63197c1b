import {acpRobustness, acpRobustnessOnce} from './acp-cases.js'

acpRobustness('path-mapped')
acpRobustnessOnce()
