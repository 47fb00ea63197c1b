import {acpRobustness, acpRobustnessOnce} from './acp-robustness-cases.js'

acpRobustness('path-mapped')
acpRobustnessOnce()
