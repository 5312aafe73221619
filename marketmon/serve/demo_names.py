"""The bundled day's names as the exchanges list them (证券简称) on 2025-09-12.

The demo sends these as `name`, the way Tencent and Sina send their Chinese
names, and the English name it always had as `name_en` (docs/protocol.md).
The three instruments the table in `demo_day.py` already names in Chinese have
no English name here. The funds are the Huabao ETFs the day's recap is about.
"""

from __future__ import annotations

CHINESE: dict[str, str] = {
    # Indices
    "000001.SH": "上证指数", "399001.SZ": "深证成指", "399006.SZ": "创业板指", "000688.SH": "科创50",
    "000300.SH": "沪深300", "399106.SZ": "深证综指", "899050.BJ": "北证50", "HSI.HK": "恒生指数",
    "HSTECH.HK": "恒生科技指数",
    # AI and chips
    "688256.SH": "寒武纪", "688521.SH": "芯原股份", "603019.SH": "中科曙光", "688327.SH": "云从科技",
    "688107.SH": "安路科技", "688208.SH": "道通科技", "688981.SH": "中芯国际", "688041.SH": "海光信息",
    "000977.SZ": "浪潮信息", "300308.SZ": "中际旭创", "300502.SZ": "新易盛", "688012.SH": "中微公司",
    "603986.SH": "兆易创新", "002371.SZ": "北方华创", "601138.SH": "工业富联", "000063.SZ": "中兴通讯",
    "002415.SZ": "海康威视",
    # Big caps, cyclicals, real estate, drugs
    "600519.SH": "贵州茅台", "000001.SZ": "平安银行", "300750.SZ": "宁德时代", "002594.SZ": "比亚迪",
    "601318.SH": "中国平安", "300059.SZ": "东方财富", "600030.SH": "中信证券", "600036.SH": "招商银行",
    "601899.SH": "紫金矿业", "600048.SH": "保利发展", "001979.SZ": "招商蛇口", "600276.SH": "恒瑞医药",
    "688235.SH": "百济神州",
    # ETFs (Huabao's, as in the recap)
    "589520.SH": "科创人工智能ETF", "513770.SH": "港股互联网ETF", "159876.SZ": "有色龙头ETF",
    "159707.SZ": "地产ETF", "562050.SH": "医药ETF", "520880.SH": "港股通创新药ETF",
    "510300.SH": "沪深300ETF", "588000.SH": "科创50ETF",
    # Hong Kong
    "09988.HK": "阿里巴巴-W", "00700.HK": "腾讯控股", "01024.HK": "快手-W", "09626.HK": "哔哩哔哩-W",
    "01810.HK": "小米集团-W", "03690.HK": "美团-W", "09618.HK": "京东集团-SW", "09888.HK": "百度集团-SW",
    "09999.HK": "网易-S", "00981.HK": "中芯国际", "01347.HK": "华虹半导体", "00005.HK": "汇丰控股",
    "00388.HK": "香港交易所", "02318.HK": "中国平安", "00941.HK": "中国移动", "01211.HK": "比亚迪股份",
    "01228.HK": "北海康成-B", "01177.HK": "中国生物制药", "06160.HK": "百济神州", "01093.HK": "石药集团",
    "00013.HK": "和黄医药",
}  # fmt: skip


def names_of(symbol: str, name: str) -> dict[str, str]:
    """The wire's `name` (and `name_en`) of an instrument the day table names `name`."""
    chinese = CHINESE.get(symbol)
    return {"name": name} if chinese is None else {"name": chinese, "name_en": name}
