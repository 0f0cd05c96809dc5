"""What each case feed reports about: upstream type codes, Chinese names, the Event category each
one means, relative weights and description templates (``{addr}`` is the place)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CaseType:
    code: str
    name: str
    category: str
    weight: float
    text: str


def _t(code: str, name: str, category: str, weight: float, text: str) -> CaseType:
    return CaseType(code, name, category, weight, text)


HOTLINE = (
    _t("JM001", "物业管理", "dispute", 12, "反映{addr}小区物业服务不到位，电梯多次故障无人维修。"),
    _t("JM002", "噪音扰民", "law_enforcement", 14, "反映{addr}附近夜间施工噪音扰民，影响休息。"),
    _t("JM003", "供水供电", "public_service", 10, "反映{addr}停水已超过6小时，未见通知。"),
    _t("JM004", "交通出行", "traffic_safety", 8, "反映{addr}路口红绿灯故障，存在安全隐患。"),
    _t("JM005", "劳动社保", "dispute", 9, "反映在{addr}务工被拖欠工资三个月。"),
    _t("JM006", "违章建筑", "illegal_construction", 6, "举报{addr}有人未经审批加建房屋。"),
    _t("JM007", "市容环境", "law_enforcement", 12, "反映{addr}垃圾堆积多日无人清运，气味难闻。"),
    _t("JM008", "医疗卫生", "health", 5, "反映{addr}附近诊所收费不规范。"),
    _t("JM009", "社会治安", "public_order", 4, "反映{addr}夜间有人聚集滋事。"),
    _t("JM010", "政策咨询", "public_service", 20, "咨询{addr}所在地新生儿入户办理流程。"),
)
ENTERPRISE = (
    _t("QY01", "融资贷款", "enterprise_appeal", 15, "企业位于{addr}，反映申请贴息贷款审批进度缓慢。"),
    _t("QY02", "用工招工", "enterprise_appeal", 15, "企业位于{addr}，反映急需招聘普工50名。"),
    _t("QY03", "政策兑现", "enterprise_appeal", 20, "企业位于{addr}，反映技改补贴未按期兑现。"),
    _t("QY04", "审批办证", "enterprise_appeal", 15, "企业位于{addr}，反映厂房报建审批材料反复退回。"),
    _t("QY05", "水电气保障", "enterprise_appeal", 15, "企业位于{addr}，反映园区频繁停电影响生产。"),
    _t("QY06", "涉企纠纷", "enterprise_appeal", 10, "企业位于{addr}，反映与上游供应商合同纠纷。"),
    _t("QY07", "物流运输", "enterprise_appeal", 10, "企业位于{addr}，反映园区道路限行影响货车进出。"),
)
CITY_MGMT = (
    _t("CG01", "占道经营", "law_enforcement", 25, "{addr}有商户占用人行道经营。"),
    _t("CG02", "违章搭建", "illegal_construction", 12, "{addr}有人在天台违规搭建铁皮房。"),
    _t("CG03", "乱张贴", "law_enforcement", 10, "{addr}墙面被大量张贴小广告。"),
    _t("CG04", "渣土撒漏", "law_enforcement", 8, "{addr}有渣土车沿途撒漏。"),
    _t("CG05", "井盖缺失", "public_service", 8, "{addr}人行道井盖缺失，存在安全隐患。"),
    _t("CG06", "共享单车乱停放", "traffic_safety", 15, "{addr}共享单车大量堆放堵塞通道。"),
    _t("CG07", "户外广告", "law_enforcement", 7, "{addr}户外广告牌松动，有坠落风险。"),
    _t("CG08", "垃圾暴露", "environment", 15, "{addr}垃圾桶满溢，垃圾暴露。"),
)
POLICE = (
    _t("Police.Theft", "盗窃", "police_criminal", 18, "报警称在{addr}电动车被盗。"),
    _t("Police.Fraud", "诈骗", "police_criminal", 14, "报警称被冒充客服诈骗，事主住{addr}。"),
    _t("Police.Robbery", "抢劫", "police_criminal", 2, "报警称在{addr}被人抢走手机。"),
    _t("Police.Assault", "伤害", "police_criminal", 5, "报警称在{addr}被人殴打受伤。"),
    _t("Police.Disturbance", "纠纷", "police_public_order", 22, "报警称在{addr}与邻居发生纠纷。"),
    _t("Police.Fight", "打架斗殴", "police_public_order", 8, "报警称{addr}有多人打架。"),
    _t("Police.Noise", "噪音扰民", "police_public_order", 10, "报警称{addr}有人深夜喧哗。"),
    _t("Police.AssistMissingPerson", "走失求助", "police_assist", 6, "报警称老人在{addr}附近走失。"),
    _t("Police.AssistGeneral", "群众求助", "police_assist", 10, "群众在{addr}求助。"),
    _t("Police.TrafficCollision", "交通事故", "traffic_accident", 5, "报警称{addr}发生两车碰撞。"),
)
FIRE = (
    _t("Fire.Building", "建筑火灾", "fire", 20, "{addr}一民房冒出浓烟。"),
    _t("Fire.Vehicle", "车辆火灾", "fire", 10, "{addr}一辆小汽车起火。"),
    _t("Fire.Wildland", "山林火灾", "fire", 12, "{addr}附近山头起火。"),
    _t("Fire.Electrical", "电气火灾", "fire", 10, "{addr}配电箱起火。"),
    _t("Fire.Rescue.Trapped", "被困救援", "rescue", 20, "{addr}有人被困电梯。"),
    _t("Rescue.Water", "水域救援", "rescue", 10, "{addr}河段有人落水。"),
    _t("Rescue.Animal", "动物救助", "rescue", 8, "{addr}有蛇进入民宅。"),
    _t("Fire.Alarm", "火警误报", "fire", 10, "{addr}火灾自动报警系统报警。"),
)
MEDICAL = (
    _t("Medical.Cardiac", "胸痛", "medical", 15, "{addr}一名老人胸痛、呼吸困难。"),
    _t("Medical.Stroke", "卒中", "medical", 10, "{addr}有人突然口角歪斜、肢体无力。"),
    _t("Medical.Trauma", "外伤", "medical", 25, "{addr}有人跌倒头部出血。"),
    _t("Medical.Breathing", "呼吸困难", "medical", 12, "{addr}有儿童高热、呼吸急促。"),
    _t("Medical.Poisoning", "中毒", "medical", 5, "{addr}有人误服药物。"),
    _t("Medical.Maternity", "临产", "medical", 8, "{addr}孕妇临产。"),
    _t("EMS.Transfer", "转运", "medical", 25, "{addr}患者需转院。"),
)
TRAFFIC = (
    _t("Traffic.Collision", "车辆碰撞", "traffic_accident", 50, "{addr}两车追尾，无人员受伤。"),
    _t("Traffic.Injury", "人员受伤事故", "traffic_accident", 20, "{addr}电动车与小车碰撞，一人受伤。"),
    _t("Traffic.HitAndRun", "肇事逃逸", "traffic_accident", 5, "{addr}发生事故，肇事车辆逃逸。"),
    _t("Traffic.Congestion", "交通拥堵", "traffic_accident", 15, "{addr}因事故造成严重拥堵。"),
    _t("Traffic.DrunkDriving", "酒驾", "traffic_accident", 10, "{addr}疑似有人酒后驾车。"),
)
GRID = (
    _t("01", "社会治安", "public_order", 10, "巡查发现{addr}有可疑人员徘徊。"),
    _t("02", "矛盾纠纷", "dispute", 14, "走访发现{addr}两户村民因宅基地边界发生争执。"),
    _t("03", "卫生防疫", "epidemic", 6, "巡查发现{addr}有积水容器滋生蚊虫。"),
    _t("04", "农村违建", "illegal_construction", 10, "巡查发现{addr}有村民未批先建。"),
    _t("05", "安全生产", "work_safety", 12, "巡查发现{addr}小作坊消防通道堵塞。"),
    _t("06", "交通安全", "traffic_safety", 8, "巡查发现{addr}路段护栏损坏。"),
    _t("07", "森林防火", "forest_fire", 5, "巡查发现{addr}山边有人烧荒。"),
    _t("08", "防汛防旱", "flood_drought", 6, "巡查发现{addr}排水渠堵塞。"),
    _t("09", "便民服务", "public_service", 18, "{addr}独居老人需上门代办医保业务。"),
    _t("10", "综合执法", "law_enforcement", 11, "巡查发现{addr}有人乱倒建筑垃圾。"),
)
PETITION = (
    _t("XF01", "城乡建设", "petition", 25, "反映{addr}旧城改造补偿标准问题。"),
    _t("XF02", "劳动社保", "petition", 20, "反映在{addr}企业务工被拖欠工资。"),
    _t("XF03", "农村农业", "petition", 15, "反映{addr}土地承包经营权纠纷。"),
    _t("XF04", "自然资源", "petition", 15, "反映{addr}征地补偿款未到位。"),
    _t("XF05", "政法", "petition", 15, "反映{addr}案件执行不到位。"),
    _t("XF06", "卫生健康", "petition", 10, "反映{addr}医疗纠纷处理结果。"),
)
MEDIATION = (
    _t("TJ01", "婚姻家庭纠纷", "dispute", 20, "{addr}夫妻因抚养问题发生纠纷。"),
    _t("TJ02", "邻里纠纷", "dispute", 25, "{addr}邻里因漏水问题发生纠纷。"),
    _t("TJ03", "土地纠纷", "dispute", 15, "{addr}村民因土地边界发生纠纷。"),
    _t("TJ04", "劳资纠纷", "dispute", 15, "{addr}工人与老板因工资结算发生纠纷。"),
    _t("TJ05", "物业纠纷", "dispute", 15, "{addr}业主与物业因收费发生纠纷。"),
    _t("TJ06", "交通事故纠纷", "dispute", 10, "{addr}交通事故赔偿纠纷。"),
)
HAZARD = (
    _t("AJ01", "消防安全", "work_safety", 30, "{addr}企业消防通道被货物堵塞。"),
    _t("AJ02", "危险化学品", "work_safety", 10, "{addr}企业危化品未按规定分类存放。"),
    _t("AJ03", "建筑施工", "work_safety", 15, "{addr}工地高处作业未系安全带。"),
    _t("AJ04", "特种设备", "work_safety", 10, "{addr}企业叉车未年检。"),
    _t("AJ05", "用电安全", "work_safety", 20, "{addr}车间私拉乱接电线。"),
    _t("AJ06", "有限空间", "work_safety", 15, "{addr}企业有限空间作业未审批。"),
)
ENVIRONMENT = (
    _t("HB01", "大气污染", "environment", 30, "{addr}工厂烟囱冒黑烟。"),
    _t("HB02", "水污染", "environment", 25, "{addr}河涌水体发黑发臭。"),
    _t("HB03", "噪声污染", "environment", 25, "{addr}工厂夜间机器噪声扰民。"),
    _t("HB04", "固体废物", "environment", 10, "{addr}有人偷倒工业固废。"),
    _t("HB05", "餐饮油烟", "environment", 10, "{addr}餐馆油烟直排。"),
)
MARKET = (
    _t("SJ01", "食品安全", "market", 25, "在{addr}购买的食品过期变质。"),
    _t("SJ02", "价格", "market", 15, "{addr}商户价格标示不清。"),
    _t("SJ03", "产品质量", "market", 25, "在{addr}购买的电器质量问题。"),
    _t("SJ04", "预付卡", "market", 15, "{addr}健身房关门，预付卡无法退款。"),
    _t("SJ05", "合同纠纷", "market", 20, "与{addr}装修公司合同纠纷。"),
)
ASSISTANCE = (
    _t("MZ01", "最低生活保障", "social_assistance", 35, "申请人家住{addr}，家庭收入低于低保标准。"),
    _t("MZ02", "特困人员供养", "social_assistance", 10, "申请人家住{addr}，无劳动能力无赡养人。"),
    _t("MZ03", "临时救助", "social_assistance", 30, "申请人家住{addr}，因病导致生活困难。"),
    _t("MZ04", "医疗救助", "social_assistance", 15, "申请人家住{addr}，住院自付费用较高。"),
    _t("MZ05", "残疾人两项补贴", "social_assistance", 10, "申请人家住{addr}，二级肢体残疾。"),
)
HEALTH = (
    _t("WJ01", "传染病疫情", "epidemic", 35, "{addr}学校出现多例发热病例。"),
    _t("WJ02", "食物中毒", "health", 20, "{addr}聚餐后多人腹泻。"),
    _t("WJ03", "职业中毒", "health", 5, "{addr}工厂工人疑似职业中毒。"),
    _t("WJ04", "群体性不明原因疾病", "epidemic", 5, "{addr}多人出现不明原因皮疹。"),
    _t("WJ05", "医疗纠纷", "health", 35, "{addr}医院发生医疗纠纷。"),
)
VIDEO = (
    _t("ZDJY", "占道经营", "law_enforcement", 25, "{addr}摄像机识别到占道经营。"),
    _t("LJBL", "垃圾暴露", "environment", 20, "{addr}摄像机识别到垃圾暴露。"),
    _t("RYJJ", "人员聚集", "public_order", 10, "{addr}摄像机识别到人员聚集。"),
    _t("YHSB", "烟火识别", "forest_fire", 8, "{addr}摄像机识别到烟火。"),
    _t("CLWT", "车辆违停", "traffic_safety", 22, "{addr}摄像机识别到车辆违停。"),
    _t("HDPF", "河道漂浮物", "environment", 10, "{addr}摄像机识别到河道漂浮物。"),
    _t("DDCJT", "电动车进电梯", "work_safety", 5, "{addr}摄像机识别到电动车进入电梯。"),
)

TYPES: dict[str, tuple[CaseType, ...]] = {
    "12345": HOTLINE, "qy117": ENTERPRISE, "cg": CITY_MGMT, "110": POLICE, "119": FIRE,
    "120": MEDICAL, "122": TRAFFIC, "wg": GRID, "xf": PETITION, "tj": MEDIATION, "aj": HAZARD,
    "hb": ENVIRONMENT, "sj": MARKET, "mz": ASSISTANCE, "wj": HEALTH, "sp": VIDEO,
}

# who handles the case, by feed; {d} district name, {t} town name, {c} city name
DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "12345": ("{d}城市管理和综合执法局", "{d}住房和城乡建设局", "{t}", "{d}人力资源和社会保障局",
              "{c}供电局{d}分局"),
    "qy117": ("{d}工业和信息化局", "{d}发展和改革局", "{d}人力资源和社会保障局", "{t}"),
    "cg": ("{d}城市管理和综合执法局", "{t}综合行政执法办"),
    "110": ("{c}公安局{d}分局",),
    "119": ("{c}消防救援支队{d}大队",),
    "120": ("{c}急救医疗指挥中心",),
    "122": ("{c}公安局交通警察支队{d}大队",),
    "wg": ("{t}综治中心",),
    "xf": ("{d}信访局", "{t}信访办"),
    "tj": ("{t}人民调解委员会",),
    "aj": ("{t}应急管理办公室", "{d}应急管理局"),
    "hb": ("{c}生态环境局{d}分局",),
    "sj": ("{d}市场监督管理局", "{t}市场监管所"),
    "mz": ("{t}社会事务办", "{d}民政局"),
    "wj": ("{d}疾病预防控制中心", "{d}卫生健康局"),
    "sp": ("{t}综治中心", "{d}城市管理和综合执法局"),
}
